// Filesystem side of `dir` storage pools: the directory layout LXD's dir driver creates under a pool's source,
// and its space/inode figures. Never touches anything in `source` beyond that layout.
import { chmodSync, existsSync, mkdirSync, readdirSync, rmSync, rmdirSync, statSync, statfsSync } from 'node:fs';
import { dirname, isAbsolute, join, relative } from 'node:path';
import { Injectable } from '@nestjs/common';
import type { ResourcesStoragePool } from '@lxdts/api-types';
import { badRequest } from '../http/api-error.js';

/**
 * One directory per volume type and its snapshots, with the modes LXD 5.0.2 gives them: instance roots stay
 * traversable (0711) for unprivileged containers, custom volumes and images are private (0700).
 */
export const DIR_POOL_LAYOUT: Readonly<Record<string, number>> = {
  buckets: 0o711,
  containers: 0o711,
  'containers-snapshots': 0o711,
  custom: 0o700,
  'custom-snapshots': 0o700,
  images: 0o700,
  'virtual-machines': 0o700,
  'virtual-machines-snapshots': 0o700,
};

const LAYOUT_DIRS = Object.keys(DIR_POOL_LAYOUT);

/** What `create` made, so a failed pool creation can take back exactly that. */
export interface CreatedPoolDirs {
  /** The outermost directory created for `source` itself (it and its parents may have been missing). */
  createdRoot: string | undefined;
  /** Layout directories that did not exist before. */
  createdSubdirs: string[];
}

@Injectable()
export class DirPoolDriver {
  /**
   * A pool source must be missing (it is created), an empty directory, or the leftover layout of a dir pool
   * (re-creating a pool over its old data, as `lxd recover` setups do).
   */
  checkSource(source: string): void {
    if (!existsSync(source)) return;
    if (!statSync(source).isDirectory()) throw badRequest(`Source path '${source}' isn't a directory`);
    const foreign = readdirSync(source).filter((e) => !LAYOUT_DIRS.includes(e));
    if (foreign.length > 0) throw badRequest(`Source path '${source}' isn't empty`);
  }

  create(source: string): CreatedPoolDirs {
    this.checkSource(source);
    const created: CreatedPoolDirs = { createdRoot: undefined, createdSubdirs: [] };
    try {
      created.createdRoot = mkdirSync(source, { recursive: true, mode: 0o711 });
      for (const [dir, mode] of Object.entries(DIR_POOL_LAYOUT)) {
        const path = join(source, dir);
        if (!existsSync(path)) {
          mkdirSync(path);
          created.createdSubdirs.push(path);
        }
        chmodSync(path, mode); // explicit: mkdir's mode is filtered by the umask
      }
    } catch (err) {
      this.undoCreate(created);
      throw badRequest(`Failed to create storage pool directory '${source}': ${(err as Error).message}`);
    }
    return created;
  }

  /** Rollback of `create`: removes only what it made. */
  undoCreate(created: CreatedPoolDirs): void {
    for (const path of [...created.createdSubdirs].reverse()) rmdirQuiet(path);
    if (created.createdRoot) rmSync(created.createdRoot, { recursive: true, force: true });
  }

  /**
   * Removes the pool's layout directories (with whatever volume data is left in them). When the pool owns `source`
   * (`ownedRoot` is `source` or the outermost directory created for it), the then empty directories from `source` up
   * to `ownedRoot` go too. Anything else a user keeps in `source` stays, and so does a non-empty `source`.
   */
  delete(source: string, ownedRoot: string | undefined): void {
    if (!existsSync(source)) return;
    for (const dir of LAYOUT_DIRS) rmSync(join(source, dir), { recursive: true, force: true });
    if (!ownedRoot || !isWithin(source, ownedRoot)) return;
    for (let dir = source; ; dir = dirname(dir)) {
      if (!rmdirQuiet(dir) || dir === ownedRoot) return;
    }
  }

  resources(source: string): ResourcesStoragePool {
    const st = statfsSync(source);
    // Some filesystems allocate inodes dynamically and report none; LXD then shows 0/0.
    const inodes = st.files > 0 ? { used: st.files - st.ffree, total: st.files } : { used: 0, total: 0 };
    return { space: { used: (st.blocks - st.bfree) * st.bsize, total: st.blocks * st.bsize }, inodes };
  }
}

/** false when the directory is not empty (or already gone): then it stays. */
function rmdirQuiet(path: string): boolean {
  try {
    rmdirSync(path);
    return true;
  } catch {
    return false;
  }
}

export function isWithin(path: string, dir: string): boolean {
  const rel = relative(dir, path);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}
