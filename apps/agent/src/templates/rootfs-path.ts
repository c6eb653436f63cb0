// Paths inside a container's root file system, resolved from the host the way the container would see them:
// one component at a time, symlinks followed with absolute targets taken from the rootfs root, and any `..` or
// link that would climb above the rootfs refused. Used for template targets (and template files inside an image's
// templates/ folder, with that folder as the root).
//
// Templates are rendered before the container starts, so nothing inside it can swap components while we walk;
// the final open still refuses a symlink (O_NOFOLLOW) and new files are created exclusively (O_EXCL).
// Synchronous on purpose: a handful of small files per start, and the renderer's includes load synchronously.
import {
  type Stats,
  chownSync,
  closeSync,
  constants,
  fchmodSync,
  fchownSync,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  readlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';

/** Linux's limit on symlinks followed in one lookup. */
const MAX_SYMLINKS = 40;
const MAX_COMPONENTS = 4096;

export class RootfsPathError extends Error {
  constructor(
    /** ESCAPE (would leave the root), ENOENT, ENOTDIR, ELOOP, EISDIR, EINVAL. */
    readonly code: string,
    /** The path as the container names it. */
    readonly path: string,
    detail: string,
  ) {
    super(`${path}: ${detail}`);
    this.name = 'RootfsPathError';
  }
}

export interface ResolveOptions {
  /** Follow a symlink in the last component (default true: writing a file writes where the link points). */
  followFinal?: boolean;
  /** Create missing intermediate directories (mode 0755, owned by `owner`). */
  createParents?: boolean;
  /** Owner of created directories (container root = 0:0 on an unshifted rootfs). */
  owner?: { uid: number; gid: number };
}

export interface ResolvedPath {
  /** Host path of the final entry, always below the root. */
  hostPath: string;
  /** Components below the root (what the container would call `/a/b/c`). */
  components: string[];
  /** lstat of the final entry; null when it does not exist. */
  stat: Stats | null;
}

const isRoot = (): boolean => process.getuid?.() === 0;

const components = (path: string): string[] => path.split('/').filter((c) => c !== '' && c !== '.');

function lstatOrNull(path: string): Stats | null {
  try {
    return lstatSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/**
 * Resolves `path` (absolute or relative: both start at the root) below `root`. Intermediate components must be
 * directories or symlinks to directories inside the root. A missing final entry is not an error (`stat` null).
 */
export function resolveInRoot(root: string, path: string, options: ResolveOptions = {}): ResolvedPath {
  const followFinal = options.followFinal ?? true;
  const where = `/${components(path).join('/')}`;
  const queue = components(path);
  const stack: string[] = [];
  let links = 0;
  let steps = 0;
  while (queue.length > 0) {
    if (++steps > MAX_COMPONENTS) throw new RootfsPathError('ELOOP', where, 'too many path components');
    const name = queue.shift() as string;
    if (name === '..') {
      if (stack.length === 0) throw new RootfsPathError('ESCAPE', where, 'path leads outside of the root file system');
      stack.pop();
      continue;
    }
    const last = queue.length === 0;
    const host = join(root, ...stack, name);
    const st = lstatOrNull(host);
    if (!st) {
      if (last) return { hostPath: host, components: [...stack, name], stat: null };
      if (!options.createParents) throw new RootfsPathError('ENOENT', where, 'no such file or directory');
      mkdirSync(host, { mode: 0o755 });
      if (options.owner && isRoot()) chownSync(host, options.owner.uid, options.owner.gid);
      stack.push(name);
      continue;
    }
    if (st.isSymbolicLink() && (!last || followFinal)) {
      if (++links > MAX_SYMLINKS) throw new RootfsPathError('ELOOP', where, 'too many levels of symbolic links');
      const target = readlinkSync(host);
      if (target === '') throw new RootfsPathError('ENOENT', where, 'empty symbolic link');
      // An absolute target is absolute in the container: it starts again from the root, never the host's '/'.
      if (target.startsWith('/')) stack.length = 0;
      queue.unshift(...components(target));
      continue;
    }
    if (last) return { hostPath: host, components: [...stack, name], stat: st };
    if (!st.isDirectory()) throw new RootfsPathError('ENOTDIR', where, 'not a directory');
    stack.push(name);
  }
  // The path named the root itself ("/", "a/..").
  return { hostPath: root, components: [], stat: lstatSync(root) };
}

export type WriteOutcome = 'created' | 'replaced' | 'skipped';

export interface WriteOptions {
  /** Leave an existing file alone (templates' create_only). */
  createOnly?: boolean;
  /** Mode and owner of a new file (existing files keep theirs, as LXD truncates them in place). */
  mode?: number;
  owner?: { uid: number; gid: number };
}

/** Writes a file at a container path: parents created as needed, never through a link leading out of the rootfs. */
export function writeInRootfs(rootfs: string, path: string, content: string | Buffer, options: WriteOptions = {}): WriteOutcome {
  const owner = options.owner ?? { uid: 0, gid: 0 };
  const resolved = resolveInRoot(rootfs, path, { followFinal: true, createParents: true, owner });
  const where = `/${resolved.components.join('/')}`;
  if (resolved.components.length === 0) throw new RootfsPathError('EISDIR', where, 'is a directory');
  if (resolved.stat) {
    if (options.createOnly) return 'skipped';
    if (resolved.stat.isDirectory()) throw new RootfsPathError('EISDIR', where, 'is a directory');
    if (!resolved.stat.isFile()) throw new RootfsPathError('EINVAL', where, 'not a regular file');
    const fd = openSync(resolved.hostPath, constants.O_WRONLY | constants.O_TRUNC | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    try {
      writeFileSync(fd, content);
    } finally {
      closeSync(fd);
    }
    return 'replaced';
  }
  const mode = options.mode ?? 0o644;
  const fd = openSync(resolved.hostPath, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, mode);
  try {
    fchmodSync(fd, mode); // the umask may have taken bits away
    if (isRoot()) fchownSync(fd, owner.uid, owner.gid);
    writeFileSync(fd, content);
  } finally {
    closeSync(fd);
  }
  return 'created';
}

/** Reads a regular file below `root` (a template in an image's templates/ folder), links kept inside the root. */
export function readInRoot(root: string, path: string, maxBytes = 16 * 1024 * 1024): string {
  const resolved = resolveInRoot(root, path, { followFinal: true });
  const where = `/${resolved.components.join('/')}`;
  if (!resolved.stat) throw new RootfsPathError('ENOENT', where, 'no such file or directory');
  if (!resolved.stat.isFile()) throw new RootfsPathError('EINVAL', where, 'not a regular file');
  if (resolved.stat.size > maxBytes) throw new RootfsPathError('EINVAL', where, 'file too large');
  const fd = openSync(resolved.hostPath, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    if (!fstatSync(fd).isFile()) throw new RootfsPathError('EINVAL', where, 'not a regular file');
    return readFileSync(fd).toString('utf8');
  } finally {
    closeSync(fd);
  }
}
