// What a local copy (`lxc copy`, POST /1.0/instances with source type "copy") takes from its source, as LXD's
// createFromCopy: the source's local config and devices under the request's own, minus the per-instance
// volatile keys. The new instance gets its own volatile.uuid and applies the image's `copy` templates at first start.
import { randomUUID } from 'node:crypto';
import type { Devices } from '@lxdts/api-types';

/**
 * LXD's InstanceIncludeWhenCopying for a local copy: volatile.base_image (it helps later copies) and
 * volatile.last_state.idmap (no needless remapping) stay; every other volatile key (uuid, NIC hwaddr/host_name/name,
 * last_state.power, idmap.*, apply_template, cloud-init.instance-id) belongs to the source alone.
 */
export function includeWhenCopying(key: string): boolean {
  if (key === 'volatile.base_image' || key === 'volatile.last_state.idmap') return true;
  return !key.startsWith('volatile.');
}

export interface CopyPlan {
  config: Record<string, string>;
  devices: Devices;
  /** Keys of the source's config that were left out (LXD logs "Skipping key from copy source"). */
  skipped: string[];
}

/**
 * The new instance's local config and devices: the request's (what the client sent: the source's config without
 * its volatile keys, plus any overrides), then every source key or device the request did not name.
 */
export function planCopy(
  source: { config: Record<string, string>; devices: Devices },
  requested: { config: Record<string, string>; devices: Devices },
  newUuid: () => string = randomUUID,
): CopyPlan {
  const config: Record<string, string> = { ...requested.config };
  const skipped: string[] = [];
  for (const [key, value] of Object.entries(source.config)) {
    if (!includeWhenCopying(key)) {
      skipped.push(key);
      continue;
    }
    if (!Object.hasOwn(config, key)) config[key] = value;
  }
  const devices: Devices = { ...requested.devices };
  for (const [name, dev] of Object.entries(source.devices)) if (!Object.hasOwn(devices, name)) devices[name] = { ...dev };
  if (!config['volatile.uuid']) config['volatile.uuid'] = newUuid();
  if (!config['volatile.cloud-init.instance-id']) config['volatile.cloud-init.instance-id'] = newUuid();
  config['volatile.apply_template'] = 'copy';
  return { config, devices, skipped };
}
