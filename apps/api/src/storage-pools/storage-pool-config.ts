// Configuration keys of `dir` and `btrfs` storage pools (reference/storage_dir.md, storage_btrfs.md): the pool's own
// keys plus the `volume.*` defaults for its volumes. `user.*` keys are free-form. Unknown keys are refused.
import { badRequest } from '../http/api-error.js';

type Check = (value: string) => string | null;

const anything: Check = () => null;

const BOOLEANS = ['true', 'false', '1', '0', 'yes', 'no', 'on', 'off'];
const bool: Check = (v) => (v === '' || BOOLEANS.includes(v.toLowerCase()) ? null : `Invalid value for a boolean "${v}"`);

const SIZE = /^\d+(\.\d+)?\s*(B|[kMGTPE]B|[KMGTPE]iB)?$/;
/** LXD's units.ParseByteSizeString message. */
const size: Check = (v) => (v === '' || SIZE.test(v) ? null : `Invalid value: ${v}`);

/** Bandwidth as rsync's --bwlimit takes it: a number with an optional unit. */
const bwlimit: Check = (v) => (v === '' || /^\d+(\.\d+)?\s*([kKmMgGtT]i?B?|B)?$/.test(v) ? null : `Invalid value for a bandwidth limit "${v}"`);

/** e.g. "1d 2w" (units M minute, H hour, d, w, m month, y). */
const expiry: Check = (v) =>
  v === '' || /^(\d+[MHdwmy])(\s+\d+[MHdwmy])*$/.test(v.trim()) ? null : `Invalid expiry "${v}"`;

const CRON_ALIASES = ['@hourly', '@daily', '@midnight', '@weekly', '@monthly', '@annually', '@yearly', '@startup', '@never'];
/** A cron spec (5 fields) or an alias; several may be given comma-separated. */
const schedule: Check = (v) => {
  if (v === '') return null;
  for (const part of v.split(',').map((p) => p.trim())) {
    if (CRON_ALIASES.includes(part)) continue;
    if (part.split(/\s+/).length !== 5 || !/^[\d*\/,\-A-Za-z\s]+$/.test(part)) return `Invalid snapshot schedule "${v}"`;
  }
  return null;
};

export const DIR_POOL_KEYS: Readonly<Record<string, Check>> = {
  source: anything,
  'volatile.initial_source': anything,
  'rsync.bwlimit': bwlimit,
  'rsync.compression': bool,
  'volume.security.shifted': bool,
  'volume.security.unmapped': bool,
  'volume.size': size,
  'volume.snapshots.expiry': expiry,
  'volume.snapshots.pattern': anything,
  'volume.snapshots.schedule': schedule,
};

/** btrfs: dir's keys, the loop file's size and the mount options. */
export const BTRFS_POOL_KEYS: Readonly<Record<string, Check>> = {
  ...DIR_POOL_KEYS,
  size,
  'btrfs.mount_options': (v) => (/^[A-Za-z0-9_=.:,+-]*$/.test(v) ? null : `Invalid mount options "${v}"`),
};

/** A custom volume's own keys (the pool's `volume.*` defaults without the prefix). */
export const CUSTOM_VOLUME_KEYS: Readonly<Record<string, Check>> = {
  size,
  'security.shifted': bool,
  'security.unmapped': bool,
  'snapshots.expiry': expiry,
  'snapshots.pattern': anything,
  'snapshots.schedule': schedule,
};

const POOL_KEYS: Readonly<Record<string, Readonly<Record<string, Check>>>> = { dir: DIR_POOL_KEYS, btrfs: BTRFS_POOL_KEYS };

/** Keys that belong to one cluster member (stored with its node_id). */
export const MEMBER_SPECIFIC_KEYS: ReadonlySet<string> = new Set(['source', 'volatile.initial_source', 'size']);

export function validatePoolConfig(driver: string, config: Record<string, string>): void {
  validateKeys(POOL_KEYS[driver] ?? DIR_POOL_KEYS, config);
}

/** A custom volume's config; `volatile.*` keys are the daemon's and pass. */
export function validateVolumeConfig(config: Record<string, string>): void {
  validateKeys(CUSTOM_VOLUME_KEYS, Object.fromEntries(Object.entries(config).filter(([k]) => !k.startsWith('volatile.'))));
}

function validateKeys(keys: Readonly<Record<string, Check>>, config: Record<string, string>): void {
  for (const [key, value] of Object.entries(config)) {
    if (key.startsWith('user.')) continue;
    const check = keys[key];
    if (!check) throw badRequest(`Invalid option "${key}"`);
    const problem = check(value);
    if (problem) throw badRequest(`Invalid value for option "${key}": ${problem}`);
  }
}
