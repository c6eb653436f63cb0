// Expanded config and devices: profiles applied in order, then the instance's own (rest-api: expanded_config).
import type { Devices } from '@lxdts/api-types';
import { badRequest } from '../http/api-error.js';

export function expandConfig(profiles: readonly { config: Record<string, string> }[], local: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of profiles) Object.assign(out, p.config);
  Object.assign(out, local);
  return sortKeys(out);
}

export function expandDevices(profiles: readonly { devices: Devices }[], local: Devices): Devices {
  const out: Devices = {};
  for (const p of profiles) Object.assign(out, p.devices);
  Object.assign(out, local);
  return sortKeys(out);
}

/** The root disk device (path "/"), which must exist and name a pool. */
export function rootDisk(devices: Devices): { name: string; pool: string } | undefined {
  for (const [name, d] of Object.entries(devices)) {
    if (d['type'] === 'disk' && d['path'] === '/' && !d['source']) return { name, pool: d['pool'] ?? '' };
  }
  return undefined;
}

/** LXD instance names are host names: letters, digits and '-', at most 63, not starting with a digit or '-'. */
export function validateInstanceName(name: string): void {
  // Messages as LXD's (the name itself is not repeated).
  if (name === '') throw badRequest('Invalid instance name: Name is required');
  if (name.length > 63) throw badRequest('Invalid instance name: Name must be 1-63 characters long');
  if (!/^[A-Za-z0-9-]+$/.test(name)) throw badRequest('Invalid instance name: Name can only contain alphanumeric and hyphen characters');
  if (/^[0-9]/.test(name)) throw badRequest('Invalid instance name: Name must not start with a digit');
  if (/^-/.test(name) || name.endsWith('-')) throw badRequest('Invalid instance name: Name must not start or end with a hyphen');
}

/** liblxc's container name: `<project>_<name>` outside the default project (LXD's project.Instance). */
export const lxcNameOf = (project: string, name: string): string => (project === 'default' ? name : `${project}_${name}`);

function sortKeys<T>(m: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(m).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** Whether the pool's driver copies files to snapshot or copy a volume (dir), rather than snapshot it atomically (btrfs). */
export function copiesFiles(pool: { driver?: string }): boolean {
  return (pool.driver ?? 'dir') === 'dir';
}
