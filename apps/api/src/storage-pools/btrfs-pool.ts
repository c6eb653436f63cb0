// Where a btrfs pool lives on a member and how big its loop file is, as LXD decides them.
import { statfsSync } from 'node:fs';
import { join } from 'node:path';
import type { DaemonPaths } from '../daemon/paths.js';
import { badRequest } from '../http/api-error.js';
import { parseByteSize } from '../projects/config-validators.js';

/** Internal, member-specific: the mount point holding the pool's volumes (what the agent calls the pool source). */
export const BTRFS_MOUNT_KEY = 'lxdts.volumes';

const GiB = 1024 ** 3;
/** mkfs.btrfs refuses smaller devices; the agent checks the same. */
const MIN_SIZE = 128 * 1024 ** 2;

export function btrfsMountPoint(paths: DaemonPaths, pool: string): string {
  return join(paths.storagePools, pool);
}

/**
 * The loop file's size: `size` as given, else LXD's default of a fifth of the free space where `$LXD_DIR` is, in
 * whole GiB, at least 5 and at most 30.
 */
export function btrfsLoopSize(paths: DaemonPaths, given: string): { bytes: number; text: string } {
  if (given !== '') {
    let bytes: number;
    try {
      bytes = parseByteSize(given);
    } catch (err) {
      throw badRequest(`Invalid value for option "size": ${(err as Error).message}`);
    }
    if (bytes < MIN_SIZE) throw badRequest(`Invalid value for option "size": a btrfs pool needs at least 128MiB`);
    return { bytes, text: given };
  }
  const st = statfsSync(paths.varDir);
  const gib = Math.min(30, Math.max(5, Math.floor((st.bavail * st.bsize) / 5 / GiB)));
  return { bytes: gib * GiB, text: `${gib}GiB` };
}
