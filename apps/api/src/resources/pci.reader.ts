// PCI devices from /sys/bus/pci/devices (ResourcesPCI). Vendor/product names need the pci.ids database, which
// is not read (LXD shows "" without it too).
import { join } from 'node:path';
import type { ResourcesPCI, ResourcesPCIDevice } from '@lxdts/api-types';
import { hexId, linkName, listDir, readInt, readText } from './sysfs.js';

export class PciReader {
  constructor(
    private readonly root: string,
    private readonly kernelRelease: string,
  ) {}

  read(): ResourcesPCI {
    const devices = this.addresses().map((a) => this.device(a));
    return { devices, total: devices.length };
  }

  addresses(): string[] {
    return listDir(join(this.root, 'sys/bus/pci/devices'));
  }

  /** The device class, e.g. 0x030000 for a VGA controller. */
  deviceClass(address: string): number {
    return readInt(join(this.root, 'sys/bus/pci/devices', address, 'class'), 16) ?? 0;
  }

  device(address: string): ResourcesPCIDevice {
    const dir = join(this.root, 'sys/bus/pci/devices', address);
    const driver = linkName(join(dir, 'driver')) ?? '';
    return {
      driver,
      driver_version: driverVersion(this.root, driver, this.kernelRelease),
      numa_node: pciNumaNode(this.root, address),
      pci_address: address,
      vendor: '',
      vendor_id: hexId(readText(join(dir, 'vendor'))),
      product: '',
      product_id: hexId(readText(join(dir, 'device'))),
      iommu_group: Number(linkName(join(dir, 'iommu_group')) ?? 0) || 0,
      vpd: {},
    };
  }
}

/** NUMA node of a PCI device; the kernel says -1 when it has no affinity, which LXD shows as node 0. */
export function pciNumaNode(root: string, address: string): number {
  return Math.max(readInt(join(root, 'sys/bus/pci/devices', address, 'numa_node')) ?? 0, 0);
}

/** A loadable module's version, else the kernel's (built-in drivers); '' without a driver. */
export function driverVersion(root: string, driver: string, kernelRelease: string): string {
  if (driver === '') return '';
  return readText(join(root, 'sys/module', driver, 'version')) || kernelRelease;
}
