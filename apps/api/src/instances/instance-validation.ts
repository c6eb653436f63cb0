// Checks of an instance's own config and devices (the expanded set must also have a root disk on a pool).
import type { Devices } from '@lxdts/api-types';
import { badRequest } from '../http/api-error.js';
import type { DeviceContext } from '../profiles/device-options.js';
import { deviceProblem } from '../profiles/device-rules.js';
import { instanceConfigKeyProblem } from '../profiles/instance-config-keys.js';
import { rawLxcProblem } from '../profiles/profile-config.js';
import { rootDisk } from './instance-expansion.js';

/** `prefix` is LXD's context: "Failed creating instance record" on create, "Invalid config" on update. */
export function validateInstanceConfig(config: Record<string, string>, prefix = 'Invalid config'): void {
  for (const [key, value] of Object.entries(config)) {
    if (key.startsWith('image.')) continue;
    const problem = key === 'raw.lxc' ? rawLxcProblem(value) : instanceConfigKeyProblem(key, value, 'container');
    if (problem) throw badRequest(`${prefix}: ${problem}`);
  }
}

export function validateInstanceDevices(local: Devices, expanded: Devices, ctx: Omit<DeviceContext, 'devices'>): void {
  for (const name of Object.keys(local).sort()) {
    const problem = deviceProblem(name, local[name]!, { ...ctx, devices: expanded });
    if (problem) throw badRequest(`Invalid devices: Device validation failed for "${name}": ${problem}`);
  }
  const root = rootDisk(expanded);
  if (!root) throw badRequest('Invalid devices: Failed detecting root disk device: No root device could be found');
  if (!root.pool) throw badRequest('Invalid devices: Root disk device must have a "pool" property');
  if (!ctx.pools.has(root.pool)) throw badRequest(`Invalid devices: Storage pool "${root.pool}" not found`);
}
