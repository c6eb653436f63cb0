// root's subordinate id ranges (/etc/subuid, /etc/subgid): the host ids unprivileged containers map to.
// LXD (userns-idmap.md) reads the same files; without a range only privileged containers can run.
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import type { AgentIdRange, AgentIdmap } from '@lxdts/api-types';

/** What LXD assumes when the shadow files are missing, and what the agent adds for root when absent. */
export const DEFAULT_ROOT_RANGE: AgentIdRange = { start: 1_000_000, size: 1_000_000_000 };
/** POSIX needs 0..65535 (root to nobody): the smallest range a container can run with. */
export const MIN_MAP_SIZE = 65536;

export interface SubIdEntry {
  owner: string;
  start: number;
  size: number;
}

/** Parses `owner:start:count` lines; comments, blanks and malformed lines are skipped. */
export function parseSubIdFile(text: string): SubIdEntry[] {
  const entries: SubIdEntry[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const [owner, start, size] = line.split(':');
    if (!owner || !/^\d+$/.test(start ?? '') || !/^\d+$/.test(size ?? '')) continue;
    entries.push({ owner, start: Number(start), size: Number(size) });
  }
  return entries;
}

/** root's largest range (owner `root` or `0`), or null. */
export function rootRange(entries: readonly SubIdEntry[]): AgentIdRange | null {
  let best: AgentIdRange | null = null;
  for (const e of entries) {
    if (e.owner !== 'root' && e.owner !== '0') continue;
    if (!best || e.size > best.size) best = { start: e.start, size: e.size };
  }
  return best;
}

/**
 * The map a (non-isolated) container gets: as LXD, root's whole range (the smaller of the uid and gid ranges, as the
 * map has one size), or `size` ids when given; null if a range is smaller than that or than MIN_MAP_SIZE.
 */
export function defaultIdmap(uid: AgentIdRange, gid: AgentIdRange, size = Math.min(uid.size, gid.size)): AgentIdmap | null {
  if (size < MIN_MAP_SIZE || uid.size < size || gid.size < size) return null;
  return { uidBase: uid.start, gidBase: gid.start, size };
}

/** Reads root's range from one file; when `ensure`, appends `root:1000000:1000000000` if root has none. */
export function readRootRange(file: string, ensure: boolean): AgentIdRange | null {
  const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const found = rootRange(parseSubIdFile(text));
  if (found || !ensure) return found;
  const sep = text === '' || text.endsWith('\n') ? '' : '\n';
  appendFileSync(file, `${sep}root:${DEFAULT_ROOT_RANGE.start}:${DEFAULT_ROOT_RANGE.size}\n`, { mode: 0o644 });
  return { ...DEFAULT_ROOT_RANGE };
}

export interface HostIdmap {
  uid: AgentIdRange;
  gid: AgentIdRange;
}

/** Both ranges, or null when either is missing (never when `ensure`). */
export function readHostIdmap(files: { subuid: string; subgid: string }, ensure: boolean): HostIdmap | null {
  const uid = readRootRange(files.subuid, ensure);
  const gid = readRootRange(files.subgid, ensure);
  return uid && gid ? { uid, gid } : null;
}
