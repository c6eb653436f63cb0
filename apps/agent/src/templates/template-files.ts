// The files image templates touch: targets written into an instance's rootfs and template sources read from the
// volume's templates/ folder. Both go through the file API's walker (files/container-root.ts) with the 'refuse'
// policy: a target or template path, or a link on the way, that would climb above its root fails (ESCAPE) instead
// of being clamped, as LXD's template loader refuses anything outside its folder. Absolute links start again at
// the root, never the host's '/'; the final open never follows a link (O_NOFOLLOW) and new files are O_EXCL.
import { constants } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import {
  ContainerPathError,
  PathChanged,
  type ResolveOptions,
  containerPath,
  errnoOf,
  openEntry,
  pinned,
  withResolved,
} from '../files/container-root.js';

const { O_RDONLY, O_WRONLY, O_CREAT, O_EXCL, O_TRUNC, O_NOFOLLOW, O_NONBLOCK } = constants;

/** Largest template source read. */
export const MAX_TEMPLATE_BYTES = 16 * 1024 * 1024;

export type WriteOutcome = 'created' | 'replaced' | 'skipped';

export interface WriteOptions {
  /** Leave an existing file alone (templates' create_only). */
  createOnly?: boolean;
  /** Mode of a new file and its new parent directories' owner (existing files keep theirs: LXD truncates them). */
  mode?: number;
  owner?: { uid: number; gid: number };
}

const isRoot = (): boolean => process.getuid?.() === 0;
const notRegular = (op: string, where: string) => new ContainerPathError('EINVAL', op, where, 'not a regular file');

/** Writes a file at a container path: a final link followed inside the rootfs, missing parents created 0755. */
export function writeInRootfs(rootfsPath: string, path: string, content: string | Buffer, options: WriteOptions = {}): Promise<WriteOutcome> {
  const owner = options.owner ?? { uid: 0, gid: 0 };
  const mode = options.mode ?? 0o644;
  const where = containerPath(path);
  const resolve: ResolveOptions = { followFinal: true, dotdot: 'refuse', createParents: { mode: 0o755, ...owner } };
  return withResolved(rootfsPath, path, 'open', resolve, async (r): Promise<WriteOutcome> => {
    if (r.name === null || r.stat?.isDirectory()) throw new ContainerPathError('EISDIR', 'open', where);
    const entry = pinned(r.dir, r.name);
    let h: FileHandle;
    let outcome: WriteOutcome;
    if (r.stat) {
      if (options.createOnly) return 'skipped';
      if (!r.stat.isFile()) throw notRegular('open', where);
      // O_NONBLOCK: should a FIFO have been swapped in since the lstat, the open must not hang.
      h = await openEntry(entry, O_WRONLY | O_TRUNC | O_NOFOLLOW | O_NONBLOCK);
      outcome = 'replaced';
    } else {
      try {
        h = await open(entry, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode);
      } catch (err) {
        if (errnoOf(err) === 'EEXIST') throw new PathChanged();
        throw err;
      }
      outcome = 'created';
    }
    try {
      if (!(await h.stat()).isFile()) throw notRegular('open', where);
      if (outcome === 'created') {
        await h.chmod(mode); // the umask may have taken bits away
        if (isRoot()) await h.chown(owner.uid, owner.gid);
      }
      await h.writeFile(content);
    } finally {
      await h.close();
    }
    return outcome;
  });
}

/** Reads a regular file below `root` (a template in an image's templates/ folder), links kept inside the root. */
export function readInRoot(root: string, path: string, maxBytes = MAX_TEMPLATE_BYTES): Promise<string> {
  const where = containerPath(path);
  return withResolved(root, path, 'open', { followFinal: true, dotdot: 'refuse' }, async (r) => {
    if (r.name === null) throw notRegular('open', where);
    if (!r.stat) throw new ContainerPathError('ENOENT', 'open', where);
    if (!r.stat.isFile()) throw notRegular('open', where);
    if (r.stat.size > maxBytes) throw new ContainerPathError('EFBIG', 'open', where);
    const h = await openEntry(pinned(r.dir, r.name), O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
    try {
      const st = await h.stat();
      if (!st.isFile()) throw notRegular('open', where);
      if (st.size > maxBytes) throw new ContainerPathError('EFBIG', 'open', where);
      return (await h.readFile()).toString('utf8');
    } finally {
      await h.close();
    }
  });
}
