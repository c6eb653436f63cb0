// The host's network interfaces as LXD shows unmanaged networks: name, kernel order, and a coarse type.
import { join } from 'node:path';
import { exists, listDir, readInt } from '../resources/sysfs.js';

export type HostInterfaceType = 'loopback' | 'bridge' | 'bond' | 'vlan' | 'physical' | 'unknown';

export interface HostInterface {
  name: string;
  index: number;
  type: HostInterfaceType;
}

const IFF_LOOPBACK = 0x8;

export class HostInterfacesReader {
  /** `root` is "/" on a host; tests point it at a fixture tree with sys/class/net and proc/net/vlan. */
  constructor(private readonly root = '/') {}

  private dir(name: string): string {
    return join(this.root, 'sys/class/net', name);
  }

  exists(name: string): boolean {
    return name !== '' && !name.includes('/') && exists(this.dir(name));
  }

  /** Every interface, in ifindex order (as the kernel lists them). */
  list(): HostInterface[] {
    return listDir(join(this.root, 'sys/class/net'))
      .map((name) => ({ name, index: readInt(join(this.dir(name), 'ifindex')) ?? Number.MAX_SAFE_INTEGER, type: this.type(name) }))
      .sort((a, b) => a.index - b.index || a.name.localeCompare(b.name));
  }

  type(name: string): HostInterfaceType {
    const dir = this.dir(name);
    if (((readInt(join(dir, 'flags'), 16) ?? 0) & IFF_LOOPBACK) !== 0) return 'loopback';
    if (exists(join(dir, 'bridge'))) return 'bridge';
    if (exists(join(dir, 'bonding'))) return 'bond';
    if (exists(join(this.root, 'proc/net/vlan', name))) return 'vlan';
    if (exists(join(dir, 'device'))) return 'physical';
    return 'unknown';
  }
}
