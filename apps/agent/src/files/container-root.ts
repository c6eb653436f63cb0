// Resolves paths inside a container's root file system from the host, the way the container itself would:
// symlinks are followed with absolute targets taken from the rootfs. One walker, two policies for a `..` (in the
// path or in a link) at the root, chosen by the caller:
//   - 'clamp': it stays at the root, as under chroot. The file API (LXD resolves inside the container).
//   - 'refuse': the lookup fails (ESCAPE). Image templates: their targets and template files are image-supplied
//     paths, and LXD's template loader refuses anything outside its folder.
//
// Nothing is ever looked up by a host path below the rootfs. Every directory on the way is opened (O_DIRECTORY |
// O_NOFOLLOW) and pinned by its descriptor, and each step names one entry inside a pinned directory as
// `/proc/self/fd/<fd>/<name>`: the kernel jumps to the pinned directory itself (not to a path that could have been
// swapped for a symlink meanwhile) and looks up that single name. The syscalls used on such a path never follow a
// final symlink (lstat, readlink, open with O_NOFOLLOW, mkdir, symlink, unlink, rmdir), so a container that swaps
// directories and symlinks while we walk can make a step fail or be retried, never reach outside. `..` is taken
// from our own stack of pinned directories, never asked of the kernel.
import { type Stats, constants } from 'node:fs';
import { type FileHandle, lstat, mkdir, open, readlink } from 'node:fs/promises';
import { posix } from 'node:path';

const { O_RDONLY, O_DIRECTORY, O_NOFOLLOW } = constants;

/** Linux's limit on symlinks followed in one lookup. */
export const MAX_SYMLINKS = 40;
/** Directories held open at once by one lookup (Linux has no depth limit; we do, to bound descriptors). */
export const MAX_DEPTH = 1024;
/** Times a step is retried when the entry changed between two syscalls. */
const MAX_RETRIES = 100;
/** Times an operation starts over on a fresh resolution (PathChanged). */
const MAX_OPERATION_RETRIES = 10;

const ERRNO_TEXT: Record<string, string> = {
  ENOENT: 'no such file or directory',
  ENOTDIR: 'not a directory',
  EISDIR: 'is a directory',
  EEXIST: 'file exists',
  ENOTEMPTY: 'directory not empty',
  ELOOP: 'too many levels of symbolic links',
  ENAMETOOLONG: 'file name too long',
  EBUSY: 'device or resource busy',
  EAGAIN: 'the path kept changing during the operation',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EINVAL: 'invalid argument',
  EIO: 'input/output error',
  EMFILE: 'too many open files',
  ENXIO: 'no such device or address',
  EFBIG: 'file too large',
  ESCAPE: 'path leads outside of the root file system',
};

/** A failed operation on a container path, with Go's PathError wording: `open /root/x: no such file or directory`. */
export class ContainerPathError extends Error {
  constructor(
    /** errno name (ENOENT, ENOTDIR, ...). */
    readonly code: string,
    readonly op: string,
    /** The path as the container sees it. */
    readonly path: string,
    /** Replaces the errno text (e.g. EINVAL: "not a regular file"). */
    detail?: string,
  ) {
    super(`${op} ${path}: ${detail ?? ERRNO_TEXT[code] ?? code}`);
    this.name = 'ContainerPathError';
  }
}

/** Thrown inside an operation when an entry changed between two syscalls; the operation starts over. */
export class PathChanged extends Error {
  constructor() {
    super('path changed');
    this.name = 'PathChanged';
  }
}

export const errnoOf = (err: unknown): string | undefined => {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
};

/** `/proc/self/fd/<fd>[/<name>]`: the pinned directory itself, or one entry of it. */
export function pinned(dir: FileHandle, name?: string): string {
  return name === undefined ? `/proc/self/fd/${dir.fd}` : `/proc/self/fd/${dir.fd}/${name}`;
}

/** lstat, or null when the entry does not exist. */
export async function lstatOrNull(path: string): Promise<Stats | null> {
  try {
    return await lstat(path);
  } catch (err) {
    if (errnoOf(err) === 'ENOENT') return null;
    throw err;
  }
}

/** The components of a path, without empty and `.` ones (`..` is kept: only the walk knows where it leads). */
export function components(path: string): string[] {
  return path.split('/').filter((c) => c !== '' && c !== '.');
}

/** The path as the container names it, for messages: absolute and lexically clean. */
export function containerPath(path: string): string {
  const p = posix.normalize(`/${path}`);
  return p.length > 1 && p.endsWith('/') ? p.slice(0, -1) : p;
}

export type DotDotPolicy = 'clamp' | 'refuse';

export interface ResolveOptions {
  /** Follow a symlink in the final component too (writes of files). Paths ending in `/` or `/.` always do. */
  followFinal?: boolean;
  /** What a `..` at the root does (default 'clamp'; see the top of this file). */
  dotdot?: DotDotPolicy;
  /** Create missing intermediate directories with this mode and owner (the owner only when we are root). */
  createParents?: { mode: number; uid: number; gid: number };
  /** Test seam: runs after a directory's lstat and before it is opened (to swap it in between). */
  beforeOpen?: (name: string) => Promise<void> | void;
}

/** Where a path leads: a pinned directory and the final entry's name in it. */
export interface Resolved {
  /** The directory that holds the final entry (or is the target itself when `name` is null). */
  readonly dir: FileHandle;
  /** The final entry in `dir`; null when the path names `dir` itself (`/`, `a/..`). */
  readonly name: string | null;
  /** lstat of the final entry (of `dir` when `name` is null); null when it does not exist. */
  readonly stat: Stats | null;
  /** Closes the directories this lookup opened (never the root). */
  release(): Promise<void>;
}

/** A container's root file system, held open by one descriptor for the length of one operation. */
export class ContainerRoot {
  private constructor(
    private readonly root: FileHandle,
    readonly rootfsPath: string,
  ) {}

  /** Opens the rootfs directory (the host path itself comes from the daemon and is trusted). */
  static async open(rootfsPath: string): Promise<ContainerRoot> {
    return new ContainerRoot(await open(rootfsPath, O_RDONLY | O_DIRECTORY | O_NOFOLLOW), rootfsPath);
  }

  async close(): Promise<void> {
    await this.root.close();
  }

  /**
   * Walks `path` from the root. Intermediate components must be directories or symlinks (followed); a final
   * symlink is followed only with `followFinal`. A missing final entry is not an error (`stat` is null); a missing
   * or non-directory intermediate one is (ENOENT, ENOTDIR), and so are symlink loops (ELOOP).
   */
  async resolve(path: string, options: ResolveOptions = {}): Promise<Resolved> {
    const where = containerPath(path);
    const fail = (code: string) => new ContainerPathError(code, 'lstat', where);
    const trailingDir = /\/\.?$/.test(path) && components(path).length > 0;
    const followFinal = options.followFinal === true || trailingDir;
    const queue = components(path);
    const stack: FileHandle[] = [];
    const current = (): FileHandle => stack.at(-1) ?? this.root;
    const releaseAll = async () => {
      for (const h of stack.splice(0).reverse()) await h.close().catch(() => undefined);
    };
    let links = 0;
    let retries = 0;
    const retry = (name: string) => {
      if (++retries > MAX_RETRIES) throw new ContainerPathError('EAGAIN', 'lstat', where);
      queue.unshift(name);
    };
    const done = (dir: FileHandle, name: string | null, stat: Stats | null): Resolved => {
      if (trailingDir && stat && !stat.isDirectory()) throw fail('ENOTDIR');
      return { dir, name, stat, release: releaseAll };
    };

    try {
      while (queue.length > 0) {
        const name = queue.shift() as string;
        if (name === '..') {
          if (stack.length === 0 && options.dotdot === 'refuse') throw fail('ESCAPE');
          await stack.pop()?.close();
          continue;
        }
        const last = queue.length === 0;
        const dir = current();
        const st = await lstatOrNull(pinned(dir, name));
        if (!st) {
          if (last) return done(dir, name, null);
          if (!options.createParents) throw fail('ENOENT');
          if (stack.length >= MAX_DEPTH) throw fail('ENAMETOOLONG');
          const created = await this.createDirectory(dir, name, options.createParents);
          if (created) stack.push(created);
          else retry(name);
          continue;
        }
        if (st.isSymbolicLink() && (!last || followFinal)) {
          if (++links > MAX_SYMLINKS) throw fail('ELOOP');
          let target: string;
          try {
            target = await readlink(pinned(dir, name));
          } catch (err) {
            // No longer a symlink (EINVAL) or gone: look at the entry again.
            if (errnoOf(err) === 'EINVAL' || errnoOf(err) === 'ENOENT') {
              links--;
              retry(name);
              continue;
            }
            throw err;
          }
          if (target === '') throw fail('ENOENT');
          // An absolute target starts again from the container's root, not the host's.
          if (target.startsWith('/')) await releaseAll();
          queue.unshift(...components(target));
          continue;
        }
        if (last) return done(dir, name, st);
        if (!st.isDirectory()) throw fail('ENOTDIR');
        if (stack.length >= MAX_DEPTH) throw fail('ENAMETOOLONG');
        await options.beforeOpen?.(name);
        try {
          stack.push(await open(pinned(dir, name), O_RDONLY | O_DIRECTORY | O_NOFOLLOW));
        } catch (err) {
          // Swapped for a symlink (ELOOP), a file (ENOTDIR) or removed since the lstat: look at it again.
          const code = errnoOf(err);
          if (code === 'ELOOP' || code === 'ENOTDIR' || code === 'ENOENT') {
            retry(name);
            continue;
          }
          throw err;
        }
      }
      const dir = current();
      return done(dir, null, await dir.stat());
    } catch (err) {
      await releaseAll();
      throw err;
    }
  }

  /** mkdir of one missing component, opened and pinned; null when something else took the name meanwhile. */
  private async createDirectory(dir: FileHandle, name: string, attrs: { mode: number; uid: number; gid: number }): Promise<FileHandle | null> {
    try {
      await mkdir(pinned(dir, name), 0o700);
    } catch (err) {
      if (errnoOf(err) === 'EEXIST') return null;
      throw err;
    }
    let created: FileHandle;
    try {
      created = await open(pinned(dir, name), O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    } catch (err) {
      const code = errnoOf(err);
      if (code === 'ELOOP' || code === 'ENOTDIR' || code === 'ENOENT') return null;
      throw err;
    }
    try {
      if (process.getuid?.() === 0) await created.chown(attrs.uid, attrs.gid);
      await created.chmod(attrs.mode);
    } catch (err) {
      await created.close();
      throw err;
    }
    return created;
  }
}

/**
 * Opens the root, resolves `path` and runs `fn` on the result, releasing every descriptor afterwards. When `fn`
 * finds that an entry changed under it (PathChanged), it runs again on a fresh resolution. fs errors come out as
 * ContainerPathError with the container's path and `op`.
 */
export async function withResolved<T>(
  rootfsPath: string,
  path: string,
  op: string,
  options: ResolveOptions,
  fn: (r: Resolved) => Promise<T>,
): Promise<T> {
  const where = containerPath(path);
  let root: ContainerRoot;
  try {
    root = await ContainerRoot.open(rootfsPath);
  } catch (err) {
    throw new Error(`Failed to open the root file system ${rootfsPath}: ${(err as Error).message}`);
  }
  try {
    for (let attempt = 0; ; attempt++) {
      const r = await root.resolve(path, options).catch((err: unknown) => {
        throw withContainerPath(err, op, where);
      });
      try {
        return await fn(r);
      } catch (err) {
        if (err instanceof PathChanged && attempt < MAX_OPERATION_RETRIES) continue;
        if (err instanceof PathChanged) throw new ContainerPathError('EAGAIN', op, where);
        throw withContainerPath(err, op, where);
      } finally {
        await r.release();
      }
    }
  } finally {
    await root.close();
  }
}

/**
 * Opens an entry of a pinned directory. A symlink swapped in since its lstat (ELOOP; ENOTDIR with O_DIRECTORY) or a
 * vanished entry means "look again" (PathChanged).
 */
export async function openEntry(entry: string, flags: number): Promise<FileHandle> {
  try {
    return await open(entry, flags);
  } catch (err) {
    const code = errnoOf(err);
    if (code === 'ELOOP' || code === 'ENOENT' || (code === 'ENOTDIR' && (flags & O_DIRECTORY) !== 0)) throw new PathChanged();
    throw err;
  }
}

/** Gives fs errors the container path instead of `/proc/self/fd/...`; other errors pass through. */
export function withContainerPath(err: unknown, op: string, where: string): Error {
  if (err instanceof ContainerPathError) return err;
  const code = errnoOf(err);
  if (code && /^E[A-Z]+$/.test(code)) return new ContainerPathError(code, op, where);
  return err instanceof Error ? err : new Error(String(err));
}
