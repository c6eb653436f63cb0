// LXD's file operations (GET/HEAD/POST/DELETE /1.0/instances/{name}/files) done from the host on a container's
// root file system, with LXD 5.0.2's semantics (lxd/instance_file.go, over its in-container SFTP server).
// Every path goes through ContainerRoot.resolve; every final entry is touched only through its pinned directory
// with calls that do not follow it. Ids are used as stored on disk: the rootfs is not shifted (idmapped mounts).
import { type Stats, constants } from 'node:fs';
import { type FileHandle, mkdir, open, readdir, readlink, rmdir, symlink, unlink } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { AgentFileInfo, AgentFilePushRequest, AgentFilePushResult, AgentFileType } from '@lxdts/api-types';
import {
  ContainerPathError,
  PathChanged,
  type ResolveOptions,
  type Resolved,
  containerPath,
  errnoOf,
  openEntry,
  pinned,
  withContainerPath,
  withResolved,
} from './container-root.js';

const { O_RDONLY, O_WRONLY, O_CREAT, O_EXCL, O_TRUNC, O_APPEND, O_DIRECTORY, O_NOFOLLOW, O_NONBLOCK } = constants;

/** Default permissions of what a push creates (LXD: the SFTP server's 0644, and 0750 for directories). */
export const DEFAULT_FILE_MODE = 0o644;
export const DEFAULT_DIR_MODE = 0o750;
/** Longest symlink target accepted (PATH_MAX - 1). */
export const MAX_LINK_TARGET = 4095;

/** A request the operation refuses by its nature (device node, FIFO, oversized link target...): a 400. */
export class UnsupportedFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnsupportedFileError';
  }
}

export type ReadResult =
  | { info: AgentFileInfo; kind: 'file'; handle: FileHandle }
  | { info: AgentFileInfo; kind: 'directory'; entries: string[] }
  | { info: AgentFileInfo; kind: 'symlink'; target: Buffer };

export function fileType(st: Stats): AgentFileType {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'directory';
  if (st.isSymbolicLink()) return 'symlink';
  return 'other';
}

export function fileInfo(st: Stats): AgentFileInfo {
  return {
    type: fileType(st),
    uid: st.uid,
    gid: st.gid,
    mode: st.mode & 0o7777,
    size: st.size,
    mtime: Math.floor(st.mtimeMs / 1000),
  };
}

const sameFile = (a: Stats, b: Stats) => a.ino === b.ino && a.dev === b.dev;

export interface ContainerFilesOptions {
  /** Test seam, passed to every resolution. */
  beforeOpen?: ResolveOptions['beforeOpen'];
}

export class ContainerFiles {
  constructor(private readonly options: ContainerFilesOptions = {}) {}

  /** lstat of a path (a final symlink is described, not followed): HEAD. */
  stat(rootfsPath: string, path: string): Promise<AgentFileInfo> {
    return this.withEntry(rootfsPath, path, 'lstat', {}, async (r) => {
      if (!r.stat) throw new ContainerPathError('ENOENT', 'lstat', containerPath(path));
      return fileInfo(r.stat);
    });
  }

  /**
   * Opens a path for GET: a regular file (the caller streams and closes `handle`), a directory's entry names, or
   * a symlink's target as stored. Device nodes, FIFOs and sockets are never opened.
   */
  read(rootfsPath: string, path: string): Promise<ReadResult> {
    const where = containerPath(path);
    return this.withEntry(rootfsPath, path, 'open', {}, async (r): Promise<ReadResult> => {
      if (r.name === null) return { info: fileInfo(r.stat as Stats), kind: 'directory', entries: await readdir(pinned(r.dir)) };
      if (!r.stat) throw new ContainerPathError('ENOENT', 'open', where);
      const entry = pinned(r.dir, r.name);
      if (r.stat.isSymbolicLink()) return { info: fileInfo(r.stat), kind: 'symlink', target: await readlink(entry, { encoding: 'buffer' }) };
      if (r.stat.isDirectory()) {
        const dir = await openEntry(entry, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
        try {
          const st = await dir.stat();
          if (!sameFile(st, r.stat)) throw new PathChanged();
          return { info: fileInfo(st), kind: 'directory', entries: await readdir(pinned(dir)) };
        } finally {
          await dir.close();
        }
      }
      if (!r.stat.isFile()) throw new UnsupportedFileError(`Unsupported file type: ${where} is not a regular file, directory or symlink`);
      // O_NONBLOCK: should a FIFO have been swapped in since the lstat, the open must not hang.
      const handle = await openEntry(entry, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
      const st = await handle.stat().catch(async (err: unknown) => {
        await handle.close();
        throw err;
      });
      if (!st.isFile() || !sameFile(st, r.stat)) {
        await handle.close();
        throw new PathChanged();
      }
      return { info: fileInfo(st), kind: 'file', handle };
    });
  }

  /** POST: creates or writes a file (streaming `body`), a directory or a symlink (`body` is the target). */
  async push(req: AgentFilePushRequest, body: Readable | undefined): Promise<AgentFilePushResult> {
    switch (req.type) {
      case 'file':
        return this.pushFile(req, body);
      case 'directory':
        return this.pushDirectory(req);
      case 'symlink':
        return this.pushSymlink(req, await readLinkTarget(body));
    }
  }

  /** DELETE: removes a file, a symlink (not its target) or an empty directory. */
  async remove(rootfsPath: string, path: string): Promise<void> {
    const where = containerPath(path);
    await this.withEntry(rootfsPath, path, 'remove', {}, async (r) => {
      if (r.name === null) throw new ContainerPathError('EBUSY', 'remove', where);
      if (!r.stat) throw new ContainerPathError('ENOENT', 'remove', where);
      const entry = pinned(r.dir, r.name);
      try {
        if (r.stat.isDirectory()) await rmdir(entry);
        else await unlink(entry);
      } catch (err) {
        // Swapped between a directory and a file since the lstat.
        if (errnoOf(err) === 'ENOTDIR' || errnoOf(err) === 'EISDIR') throw new PathChanged();
        throw err;
      }
    });
  }

  private async pushFile(req: AgentFilePushRequest, body: Readable | undefined): Promise<AgentFilePushResult> {
    const where = containerPath(req.path);
    // As LXD (the SFTP open inside the container), a final symlink is followed: resolved the container's way.
    const handle = await this.withEntry(req.rootfsPath, req.path, 'open', { followFinal: true }, async (r) => {
      if (r.name === null || r.stat?.isDirectory()) throw new ContainerPathError('EISDIR', 'open', where);
      const entry = pinned(r.dir, r.name);
      if (r.stat) {
        if (!r.stat.isFile()) throw new UnsupportedFileError(`Unsupported file type: ${where} is not a regular file`);
        const h = await openEntry(entry, O_WRONLY | O_NOFOLLOW | O_NONBLOCK | (req.write === 'append' ? O_APPEND : O_TRUNC));
        const st = await h.stat();
        if (!st.isFile() || !sameFile(st, r.stat)) {
          await h.close();
          throw new PathChanged();
        }
        // An existing file keeps its owner and mode (LXD applies them only to the file it creates).
        return h;
      }
      if (req.write === 'append') throw new ContainerPathError('ENOENT', 'open', where);
      let h: FileHandle;
      try {
        h = await open(entry, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
      } catch (err) {
        if (errnoOf(err) === 'EEXIST') throw new PathChanged();
        throw err;
      }
      try {
        await applyOwnerAndMode(h, req, DEFAULT_FILE_MODE);
      } catch (err) {
        await h.close();
        throw err;
      }
      return h;
    });
    try {
      const out = handle.createWriteStream();
      if (body) await pipeline(body, out);
      else await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
    } catch (err) {
      await handle.close().catch(() => undefined);
      throw withContainerPath(err, 'write', where);
    }
    return { changed: true };
  }

  private pushDirectory(req: AgentFilePushRequest): Promise<AgentFilePushResult> {
    const where = containerPath(req.path);
    return this.withEntry(req.rootfsPath, req.path, 'mkdir', {}, async (r) => {
      if (r.name === null) return { changed: false };
      if (r.stat) {
        // LXD checks existence with a stat that follows symlinks: a link to a directory counts, a dangling one
        // makes the mkdir fail.
        if (r.stat.isSymbolicLink() && !(await this.exists(req.rootfsPath, req.path))) throw new ContainerPathError('EEXIST', 'mkdir', where);
        return { changed: false };
      }
      const entry = pinned(r.dir, r.name);
      try {
        await mkdir(entry, 0o700);
      } catch (err) {
        if (errnoOf(err) === 'EEXIST') throw new PathChanged();
        throw err;
      }
      const dir = await openEntry(entry, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
      try {
        await applyOwnerAndMode(dir, req, DEFAULT_DIR_MODE);
      } finally {
        await dir.close();
      }
      return { changed: true };
    });
  }

  private pushSymlink(req: AgentFilePushRequest, target: Buffer): Promise<AgentFilePushResult> {
    const where = containerPath(req.path);
    return this.withEntry(req.rootfsPath, req.path, 'symlink', {}, async (r) => {
      if (r.name === null) throw new ContainerPathError('EEXIST', 'symlink', where);
      const entry = pinned(r.dir, r.name);
      if (r.stat?.isSymbolicLink()) {
        const current = await readlink(entry, { encoding: 'buffer' }).catch(() => null);
        if (current?.equals(target)) return { changed: false };
      }
      // The target is stored as given: it is only ever followed by lookups that stay inside the container.
      await symlink(target, entry);
      return { changed: true };
    });
  }

  /** Whether a path exists once a final symlink is followed (LXD's stat). */
  private async exists(rootfsPath: string, path: string): Promise<boolean> {
    try {
      return await this.withEntry(rootfsPath, path, 'stat', { followFinal: true }, async (r) => r.stat !== null);
    } catch (err) {
      if (err instanceof ContainerPathError) return false;
      throw err;
    }
  }

  /** The file API resolves as the container would: `..` stops at its root (chroot semantics, as LXD). */
  private withEntry<T>(rootfsPath: string, path: string, op: string, resolve: ResolveOptions, fn: (r: Resolved) => Promise<T>): Promise<T> {
    return withResolved(rootfsPath, path, op, { ...resolve, dotdot: 'clamp', beforeOpen: this.options.beforeOpen }, fn);
  }
}

/** uid/gid -1 leave that id alone (chown(2) semantics); mode -1 means `fallback`. */
async function applyOwnerAndMode(h: FileHandle, req: AgentFilePushRequest, fallback: number): Promise<void> {
  if (req.uid >= 0 || req.gid >= 0) await h.chown(req.uid, req.gid);
  await h.chmod(req.mode >= 0 ? req.mode & 0o777 : fallback);
}

async function readLinkTarget(body: Readable | undefined): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  if (body) {
    for await (const chunk of body) {
      size += (chunk as Buffer).length;
      if (size > MAX_LINK_TARGET) throw new UnsupportedFileError(`Symlink target longer than ${MAX_LINK_TARGET} bytes`);
      chunks.push(chunk as Buffer);
    }
  }
  const target = Buffer.concat(chunks);
  if (target.length === 0) throw new UnsupportedFileError('Missing symlink target');
  if (target.includes(0)) throw new UnsupportedFileError('Symlink target contains a NUL byte');
  return target;
}
