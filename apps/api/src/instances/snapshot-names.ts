// Snapshot names and expiry dates as LXD takes them, for instance and custom volume snapshots.
import { badRequest } from '../http/api-error.js';

/** Snapshot names the storage layer can hold as a directory name (no slash, no leading dot). */
const SNAPSHOT_NAME = /^[A-Za-z0-9][A-Za-z0-9_.+-]{0,254}$/;
export const DEFAULT_PATTERN = 'snap%d';

export function validateSnapshotName(name: string): void {
  if (name.includes('/')) throw badRequest('Snapshot names may not contain slashes');
  if (!SNAPSHOT_NAME.test(name)) throw badRequest(`Invalid snapshot name "${name}": letters, digits, "-", "_", "." and "+" only`);
}

/** The next name from `snapshots.pattern` (`%d`: one more than the highest number in use, from 0), as LXD's. */
export function nextSnapshotName(pattern: string, existing: readonly string[]): string {
  if (!pattern.includes('%d')) return pattern;
  const [before, after] = [pattern.slice(0, pattern.indexOf('%d')), pattern.slice(pattern.indexOf('%d') + 2)];
  let next = 0;
  for (const name of existing) {
    if (!name.startsWith(before) || !name.endsWith(after)) continue;
    const digits = name.slice(before.length, name.length - after.length);
    if (/^\d+$/.test(digits)) next = Math.max(next, Number(digits) + 1);
  }
  return `${before}${next}${after}`;
}

/** RFC 3339 expiry from the API: Go's zero time is none (`lxc snapshot --no-expiry`); absent is undefined. */
export function parseSnapshotExpiry(value: string | undefined): string | null | undefined {
  if (!value) return undefined;
  if (value.startsWith('0001-01-01')) return null;
  const t = Date.parse(value);
  if (Number.isNaN(t)) throw badRequest(`Invalid expiry date "${value}"`);
  return new Date(t).toISOString();
}
