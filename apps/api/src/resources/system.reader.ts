// The machine itself: DMI identification from /sys/class/dmi/id and what kind of system this is (ResourcesSystem).
import { join } from 'node:path';
import type { ResourcesSystem } from '@lxdts/api-types';
import { exists, readInt, readText } from './sysfs.js';

/** SMBIOS chassis types (DMI type 3). */
const CHASSIS_TYPES: readonly string[] = [
  '', 'Other', 'Unknown', 'Desktop', 'Low Profile Desktop', 'Pizza Box', 'Mini Tower', 'Tower', 'Portable', 'Laptop',
  'Notebook', 'Hand Held', 'Docking Station', 'All in One', 'Sub Notebook', 'Space-saving', 'Lunch Box',
  'Main Server Chassis', 'Expansion Chassis', 'SubChassis', 'Bus Expansion Chassis', 'Peripheral Chassis',
  'RAID Chassis', 'Rack Mount Chassis', 'Sealed-case PC', 'Multi-system chassis', 'Compact PCI', 'Advanced TCA',
  'Blade', 'Blade Enclosure', 'Tablet', 'Convertible', 'Detachable', 'IoT Gateway', 'Embedded PC', 'Mini PC', 'Stick PC',
];

const VM_PRODUCTS = /KVM|QEMU|VirtualBox|VMware|Virtual Machine|Bochs|Xen|Firecracker|Cloud Hypervisor/i;

export class SystemReader {
  constructor(private readonly root = '/') {}

  read(): ResourcesSystem {
    const dmi = join(this.root, 'sys/class/dmi/id');
    const has = exists(dmi);
    const f = (name: string) => readText(join(dmi, name)) ?? '';
    return {
      uuid: f('product_uuid'),
      vendor: f('sys_vendor'),
      product: f('product_name'),
      family: f('product_family'),
      version: f('product_version'),
      sku: f('product_sku'),
      serial: f('product_serial'),
      type: this.type(f('product_name'), f('sys_vendor')),
      firmware: has ? { date: f('bios_date'), vendor: f('bios_vendor'), version: f('bios_version') } : null,
      chassis: has
        ? { serial: f('chassis_serial'), type: CHASSIS_TYPES[readInt(join(dmi, 'chassis_type')) ?? 0] ?? '', vendor: f('chassis_vendor'), version: f('chassis_version') }
        : null,
      motherboard: has ? { product: f('board_name'), serial: f('board_serial'), vendor: f('board_vendor'), version: f('board_version') } : null,
    };
  }

  /** container (the markers container runtimes leave), virtual-machine (hypervisor CPU flag or DMI product), physical. */
  private type(product: string, vendor: string): string {
    const r = (p: string) => join(this.root, p);
    if (exists(r('.dockerenv')) || exists(r('run/.containerenv')) || exists(r('run/systemd/container'))) return 'container';
    if (/\bcontainer=/.test(readText(r('proc/1/environ'))?.replace(/\0/g, ' ') ?? '')) return 'container';
    const flags = /^flags\s*:(.*)$/m.exec(readText(r('proc/cpuinfo')) ?? '')?.[1] ?? '';
    if (/\bhypervisor\b/.test(flags) || VM_PRODUCTS.test(`${vendor} ${product}`)) return 'virtual-machine';
    return 'physical';
  }
}
