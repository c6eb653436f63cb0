// An instance whose root disk comes from a profile would lose its storage if that profile's root pool changed.
import type { Devices } from '../projects/config-rows.js';

/** An instance using a profile, as far as root disks are concerned. */
export interface ProfileDependent {
  instance: string;
  /** The instance has its own root disk with a pool, so no profile's root disk matters to it. */
  ownRootPool: boolean;
  /** The instance's profiles in apply order, with the names of their devices. */
  profiles: { id: number; deviceNames: string[] }[];
}

const isRootDisk = (d: Record<string, string>): boolean => d['type'] === 'disk' && d['path'] === '/' && !d['source'];

export function rootDiskOf(devices: Devices): { name: string; pool: string } | undefined {
  const name = Object.keys(devices).find((n) => isRootDisk(devices[n]!));
  return name === undefined ? undefined : { name, pool: devices[name]!['pool'] ?? '' };
}

/** LXD's message when a profile's root pool changes under an instance that takes its root disk from it, or null. */
export function rootDiskChangeProblem(profileId: number, before: Devices, after: Devices, dependents: readonly ProfileDependent[]): string | null {
  const old = rootDiskOf(before);
  if ((old?.pool ?? '') === (rootDiskOf(after)?.pool ?? '') || !old) return null;
  for (const dep of dependents) {
    if (dep.ownRootPool) continue;
    // The last profile defining the device wins; only that one matters.
    for (let i = dep.profiles.length - 1; i >= 0; i--) {
      const p = dep.profiles[i]!;
      if (!p.deviceNames.includes(old.name)) continue;
      if (p.id === profileId) return "At least one instance relies on this profile's root disk device";
      break;
    }
  }
  return null;
}
