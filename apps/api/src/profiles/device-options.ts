// The option check shared by every device type, mirroring LXD's Device.Validate.
import type { Validator } from '../projects/config-validators.js';

export type DeviceConfig = Record<string, string>;

/** What device validation needs to know about the rest of the system. */
export interface DeviceContext {
  /** Names of the storage pools that exist. */
  pools: ReadonlySet<string>;
  /** Managed networks visible to the profile's project: name → network type (bridge, macvlan, sriov, ovn...). */
  networks: ReadonlyMap<string, string>;
  /** The project networks are looked up in (for messages). */
  networkProject: string;
  /** All devices of the profile being validated. */
  devices: Readonly<Record<string, DeviceConfig>>;
}

export type Rules = Record<string, Validator>;

/** Applies the rules like LXD's Device.Validate: every rule runs (absent options as ""), then unknown options fail. */
export function checkRules(config: DeviceConfig, rules: Rules, typeKeys: readonly string[]): string | null {
  for (const key of Object.keys(rules).sort()) {
    const problem = rules[key]!(config[key] ?? '');
    if (problem) return `Invalid value for device option "${key}": ${problem}`;
  }
  for (const key of Object.keys(config).sort()) {
    if (key in rules || key === 'type' || key.startsWith('user.') || typeKeys.includes(key)) continue;
    return `Invalid device option "${key}"`;
  }
  return null;
}
