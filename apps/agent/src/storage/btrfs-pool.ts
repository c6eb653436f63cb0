// The file system of a `btrfs` storage pool, as LXD sets it up: a sparse loop file under `$LXD_DIR/disks` (no
// `source`), an existing directory on btrfs (bind-mounted) or a block device, mounted at
// `$LXD_DIR/storage-pools/<name>` with the dir layout inside (dir-pool.ts). Volumes in it are BtrfsStorage's.
import { closeSync, existsSync, ftruncateSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, rmdirSync, statSync, statfsSync } from 'node:fs';
import { isAbsolute, join, normalize } from 'node:path';
import type { AgentBtrfsPoolCreateRequest, AgentBtrfsPoolCreated, AgentBtrfsPoolRequest, ResourcesStoragePool } from '@lxdts/api-types';
import { AgentError, badRequest, conflict } from '../errors.js';
import type { ProcessRunner } from '../process/run.js';
import { DIR_POOL_LAYOUT, dirPoolResources } from './dir-pool.js';

const BTRFS_SUPER_MAGIC = 0x9123683e;
/** LXD's default `btrfs.mount_options`. */
export const DEFAULT_BTRFS_MOUNT_OPTIONS = 'user_subvol_rm_allowed';
/** mkfs.btrfs refuses smaller devices (with its default DUP metadata). */
const MIN_LOOP_SIZE = 128 * 1024 * 1024;

type SourceKind = 'loop' | 'directory' | 'device';

function checkPath(path: string, what: string): void {
  if (!isAbsolute(path) || normalize(path) !== path || path === '/' || path.endsWith('/') || path.includes('\0')) {
    throw badRequest(`Invalid ${what} "${path}"`);
  }
}

function checkMountOptions(options: string): void {
  if (!/^[A-Za-z0-9_=.:,+-]*$/.test(options)) throw badRequest(`Invalid btrfs.mount_options "${options}"`);
}

/** Whether something is mounted exactly at `path` (this agent's mount namespace). */
export function isMountPoint(path: string): boolean {
  const escaped = path.replace(/[ \t\n\\]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, '0')}`);
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .some((line) => line.split(' ')[4] === escaped);
}

function kindOf(source: string): SourceKind {
  const st = statSync(source);
  if (st.isBlockDevice()) return 'device';
  if (st.isDirectory()) return 'directory';
  if (st.isFile()) return 'loop';
  throw badRequest(`Source "${source}" is neither a directory, a file nor a block device`);
}

async function mountSource(runner: ProcessRunner, source: string, mountPoint: string, options: string): Promise<void> {
  const kind = kindOf(source);
  if (kind === 'directory') {
    await runner.run('mount', ['--bind', source, mountPoint], { timeoutMs: 60_000 });
    return;
  }
  const opts = [...(kind === 'loop' ? ['loop'] : []), ...(options ? [options] : [])].join(',');
  await runner.run('mount', ['-t', 'btrfs', ...(opts ? ['-o', opts] : []), source, mountPoint], { timeoutMs: 60_000 });
}

function makeLayout(mountPoint: string): void {
  for (const [dir, mode] of Object.entries(DIR_POOL_LAYOUT)) mkdirSync(join(mountPoint, dir), { recursive: true, mode });
}

export async function createBtrfsPool(runner: ProcessRunner, req: AgentBtrfsPoolCreateRequest): Promise<AgentBtrfsPoolCreated> {
  checkPath(req.mountPoint, 'mount point');
  const options = req.mountOptions ?? DEFAULT_BTRFS_MOUNT_OPTIONS;
  checkMountOptions(options);
  if (existsSync(req.mountPoint) && (isMountPoint(req.mountPoint) || readdirSync(req.mountPoint).length > 0)) {
    throw conflict(`Mount point "${req.mountPoint}" is in use`);
  }
  let source: string;
  let madeFile = false;
  if (req.source === undefined || req.source === '') {
    if (!req.loopFile) throw badRequest('A loop file or a source is needed');
    checkPath(req.loopFile, 'loop file');
    const size = req.size ?? 0;
    if (!Number.isSafeInteger(size) || size < MIN_LOOP_SIZE) throw badRequest(`Size must be at least ${MIN_LOOP_SIZE / 1024 / 1024} MiB for a btrfs loop pool`);
    if (existsSync(req.loopFile)) throw conflict(`Loop file "${req.loopFile}" already exists`);
    source = req.loopFile;
  } else {
    source = req.source;
    checkPath(source, 'source');
    if (!existsSync(source)) throw badRequest(`Source "${source}" doesn't exist`);
  }
  const madeMountPoint = !existsSync(req.mountPoint);
  let mounted = false;
  try {
    if (source === req.loopFile) {
      mkdirSync(join(source, '..'), { recursive: true, mode: 0o700 });
      const fd = openSync(source, 'wx', 0o600);
      madeFile = true;
      try {
        ftruncateSync(fd, req.size ?? 0);
      } finally {
        closeSync(fd);
      }
      await runner.run('mkfs.btrfs', ['-q', source], { timeoutMs: 120_000 });
    } else if (kindOf(source) === 'device') {
      const probe = await runner.tryRun('blkid', ['-o', 'value', '-s', 'TYPE', source], { timeoutMs: 30_000 });
      const type = probe.stdout.trim();
      if (type === '') await runner.run('mkfs.btrfs', ['-q', source], { timeoutMs: 120_000 });
      else if (type !== 'btrfs') throw badRequest(`Device "${source}" holds a ${type} file system, not btrfs`);
    } else if (kindOf(source) === 'directory') {
      if (statfsSync(source).type !== BTRFS_SUPER_MAGIC) throw badRequest(`Source "${source}" is not on a btrfs file system`);
      const foreign = readdirSync(source).filter((e) => !(e in DIR_POOL_LAYOUT));
      if (foreign.length > 0) throw badRequest(`Source path '${source}' isn't empty`);
    } else {
      throw badRequest(`Source "${source}" is neither a directory on btrfs nor a block device`);
    }
    mkdirSync(req.mountPoint, { recursive: true, mode: 0o711 });
    await mountSource(runner, source, req.mountPoint, options);
    mounted = true;
    if (statfsSync(req.mountPoint).type !== BTRFS_SUPER_MAGIC) throw badRequest(`"${source}" is not a btrfs file system`);
    makeLayout(req.mountPoint);
  } catch (err) {
    if (mounted) await runner.tryRun('umount', [req.mountPoint], { timeoutMs: 60_000 });
    if (madeMountPoint) rmSync(req.mountPoint, { recursive: true, force: true });
    if (madeFile) rmSync(source, { force: true });
    if (err instanceof AgentError) throw err;
    throw badRequest(`Failed to create the btrfs storage pool: ${(err as Error).message}`);
  }
  return { source };
}

/** Mounts a pool's file system unless it is mounted already (daemon start, after a reboot). */
export async function mountBtrfsPool(runner: ProcessRunner, req: AgentBtrfsPoolRequest): Promise<void> {
  checkPath(req.mountPoint, 'mount point');
  checkPath(req.source, 'source');
  const options = req.mountOptions ?? DEFAULT_BTRFS_MOUNT_OPTIONS;
  checkMountOptions(options);
  if (existsSync(req.mountPoint) && isMountPoint(req.mountPoint)) return;
  if (!existsSync(req.source)) throw badRequest(`Source "${req.source}" of the btrfs pool is missing`);
  mkdirSync(req.mountPoint, { recursive: true, mode: 0o711 });
  await mountSource(runner, req.source, req.mountPoint, options);
}

/**
 * Unmounts the pool and removes what it made: the loop file, or in a source directory the layout (with the
 * subvolumes left in it), and the mount point.
 */
export async function deleteBtrfsPool(runner: ProcessRunner, req: AgentBtrfsPoolRequest): Promise<void> {
  checkPath(req.mountPoint, 'mount point');
  checkPath(req.source, 'source');
  if (existsSync(req.source) && kindOf(req.source) === 'directory') await removeLayout(runner, req.mountPoint);
  if (existsSync(req.mountPoint) && isMountPoint(req.mountPoint)) await runner.run('umount', [req.mountPoint], { timeoutMs: 60_000 });
  if (existsSync(req.mountPoint) && !isMountPoint(req.mountPoint)) {
    try {
      rmdirSync(req.mountPoint);
    } catch {
      // Not empty: something of the user's; it stays.
    }
  }
  if (req.owned && req.owned === req.source && existsSync(req.source) && kindOf(req.source) === 'loop') rmSync(req.source, { force: true });
}

/** The layout directories and any subvolumes left in them (a directory source outlives the pool). */
async function removeLayout(runner: ProcessRunner, root: string): Promise<void> {
  if (!existsSync(root)) return;
  for (const dir of Object.keys(DIR_POOL_LAYOUT)) {
    const path = join(root, dir);
    if (!existsSync(path)) continue;
    const found = await runner.tryRun('find', [path, '-mindepth', '1', '-type', 'd', '-inum', '256'], { timeoutMs: 0 });
    // Innermost first.
    for (const sub of found.stdout.split('\n').filter(Boolean).reverse()) {
      await runner.tryRun('btrfs', ['property', 'set', '-ts', sub, 'ro', 'false'], { timeoutMs: 0 });
      await runner.tryRun('btrfs', ['subvolume', 'delete', sub], { timeoutMs: 0 });
    }
    rmSync(path, { recursive: true, force: true });
  }
}

export function btrfsPoolResources(mountPoint: string): ResourcesStoragePool {
  checkPath(mountPoint, 'mount point');
  const r = dirPoolResources(mountPoint);
  // btrfs allocates inodes dynamically; LXD shows none.
  return { ...r, inodes: { used: 0, total: 0 } };
}
