// The directories of a `dir` storage pool (libs/api-types agent-storage.ts): LXD's layout under the pool's source,
// its removal, and its space/inode figures. Never touches anything in `source` beyond that layout; volumes inside it
// are DirStorage's (dir.storage.ts).
import { chmodSync, existsSync, mkdirSync, readdirSync, rmSync, rmdirSync, statSync, statfsSync } from 'node:fs';
import { dirname, isAbsolute, join, normalize, relative } from 'node:path';
import type { AgentPoolCreated, ResourcesStoragePool } from '@lxdts/api-types';
import { badRequest } from '../errors.js';

/**
 * One directory per volume type and its snapshots, with the modes LXD 5.0.2 gives them: instance roots stay
 * traversable (0711) for unprivileged containers, images are private (0700). Custom volumes differ from LXD's 0700:
 * liblxc makes a volume's idmapped mount from inside the container's user namespace, which must reach it (LXD
 * shifts the files instead), so `custom` is 0711 too; the snapshots stay private.
 */
export const DIR_POOL_LAYOUT: Readonly<Record<string, number>> = {
  buckets: 0o711,
  containers: 0o711,
  'containers-snapshots': 0o711,
  custom: 0o711,
  'custom-snapshots': 0o700,
  images: 0o700,
  'virtual-machines': 0o700,
  'virtual-machines-snapshots': 0o700,
};

const LAYOUT_DIRS = Object.keys(DIR_POOL_LAYOUT);

/** The daemon sends absolute, normalized paths, never `/` itself. */
function checkPath(path: string, what: string): void {
  if (!isAbsolute(path) || normalize(path) !== path || path === '/' || path.endsWith('/') || path.includes('\0')) {
    throw badRequest(`Invalid ${what} "${path}"`);
  }
}

/**
 * A pool source must be missing (it is created), an empty directory, or the leftover layout of a dir pool
 * (re-creating a pool over its old data, as `lxd recover` setups do).
 */
function checkSource(source: string): void {
  checkPath(source, 'pool source');
  if (!existsSync(source)) return;
  if (!statSync(source).isDirectory()) throw badRequest(`Source path '${source}' isn't a directory`);
  const foreign = readdirSync(source).filter((e) => !LAYOUT_DIRS.includes(e));
  if (foreign.length > 0) throw badRequest(`Source path '${source}' isn't empty`);
}

export function createDirPool(source: string): AgentPoolCreated {
  checkSource(source);
  const created: AgentPoolCreated = { createdRoot: null, createdSubdirs: [] };
  try {
    created.createdRoot = mkdirSync(source, { recursive: true, mode: 0o711 }) ?? null;
    for (const [dir, mode] of Object.entries(DIR_POOL_LAYOUT)) {
      const path = join(source, dir);
      if (!existsSync(path)) {
        mkdirSync(path);
        created.createdSubdirs.push(path);
      }
      chmodSync(path, mode); // explicit: mkdir's mode is filtered by the umask
    }
  } catch (err) {
    undoCreateDirPool(created);
    throw badRequest(`Failed to create storage pool directory '${source}': ${(err as Error).message}`);
  }
  return created;
}

/** Rollback of `createDirPool`: removes only what it made. */
export function undoCreateDirPool(created: AgentPoolCreated): void {
  for (const path of [...created.createdSubdirs].reverse()) {
    checkPath(path, 'pool directory');
    rmdirQuiet(path);
  }
  if (created.createdRoot) {
    checkPath(created.createdRoot, 'pool directory');
    rmSync(created.createdRoot, { recursive: true, force: true });
  }
}

/**
 * Removes the pool's layout directories (with whatever volume data is left in them). When the pool owns `source`
 * (`ownedRoot` is `source` or the outermost directory created for it), the then empty directories from `source` up
 * to `ownedRoot` go too. Anything else a user keeps in `source` stays, and so does a non-empty `source`.
 */
export function deleteDirPool(source: string, ownedRoot: string | undefined): void {
  checkPath(source, 'pool source');
  if (!existsSync(source)) return;
  for (const dir of LAYOUT_DIRS) rmSync(join(source, dir), { recursive: true, force: true });
  if (!ownedRoot || !isWithin(source, ownedRoot)) return;
  checkPath(ownedRoot, 'pool directory');
  for (let dir = source; ; dir = dirname(dir)) {
    if (!rmdirQuiet(dir) || dir === ownedRoot) return;
  }
}

export function dirPoolResources(source: string): ResourcesStoragePool {
  checkPath(source, 'pool source');
  const st = statfsSync(source);
  // Some filesystems allocate inodes dynamically and report none; LXD then shows 0/0.
  const inodes = st.files > 0 ? { used: st.files - st.ffree, total: st.files } : { used: 0, total: 0 };
  return { space: { used: (st.blocks - st.bfree) * st.bsize, total: st.blocks * st.bsize }, inodes };
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

function isWithin(path: string, dir: string): boolean {
  const rel = relative(dir, path);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}
