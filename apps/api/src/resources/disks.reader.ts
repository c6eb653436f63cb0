// Block devices backed by hardware (/sys/block entries with a `device`), with their partitions (ResourcesStorage).
import { join } from 'node:path';
import type { ResourcesStorage, ResourcesStorageDisk, ResourcesStorageDiskPartition } from '@lxdts/api-types';
import { exists, linkName, listDir, pciAddressOf, readInt, readText, realPath } from './sysfs.js';
import { pciNumaNode } from './pci.reader.js';

const SECTOR = 512;

export class DisksReader {
  constructor(private readonly root = '/') {}

  read(): ResourcesStorage {
    const base = join(this.root, 'sys/block');
    // loop, zram, dm-* and other virtual devices have no `device` link.
    const disks = listDir(base)
      .filter((name) => exists(join(base, name, 'device')))
      .map((name) => this.disk(join(base, name), name));
    return { disks, total: disks.length };
  }

  private disk(dir: string, id: string): ResourcesStorageDisk {
    const devicePath = realPath(join(dir, 'device'));
    const pci = pciAddressOf(devicePath);
    const text = (f: string) => readText(join(dir, f)) || undefined;
    const byId = this.devLink('by-id', id);
    const byPath = this.devLink('by-path', id);
    const model = text('device/model');
    const wwn = text('device/wwid') ?? text('wwid');
    const firmware = text('device/firmware_rev') ?? text('device/rev');
    const serial = text('serial') ?? text('device/serial');
    return {
      id,
      device: readText(join(dir, 'dev')) ?? '',
      ...(model ? { model } : {}),
      type: this.type(id, devicePath, join(dir, 'device')),
      read_only: readInt(join(dir, 'ro')) === 1,
      size: (readInt(join(dir, 'size')) ?? 0) * SECTOR,
      removable: readInt(join(dir, 'removable')) === 1,
      ...(wwn ? { wwn } : {}),
      numa_node: pci ? pciNumaNode(this.root, pci) : 0,
      ...(byPath ? { device_path: byPath } : {}),
      block_size: readInt(join(dir, 'queue/logical_block_size')) ?? 0,
      ...(firmware ? { firmware_version: firmware } : {}),
      // Spinning disks rarely report their speed without udev; 1 means "rotational, speed unknown".
      rpm: readInt(join(dir, 'queue/rotational')) === 1 ? 1 : 0,
      ...(serial ? { serial } : {}),
      device_id: byId ?? '',
      partitions: this.partitions(dir),
      ...(pci ? { pci_address: pci } : {}),
    };
  }

  private partitions(dir: string): ResourcesStorageDiskPartition[] {
    return listDir(dir)
      .filter((e) => exists(join(dir, e, 'partition')))
      .map((e) => ({
        id: e,
        device: readText(join(dir, e, 'dev')) ?? '',
        read_only: readInt(join(dir, e, 'ro')) === 1,
        size: (readInt(join(dir, e, 'size')) ?? 0) * SECTOR,
        partition: readInt(join(dir, e, 'partition')) ?? 0,
      }))
      .sort((a, b) => a.partition - b.partition);
  }

  private type(id: string, devicePath: string | undefined, deviceLink: string): string {
    if (id.startsWith('nvme')) return 'nvme';
    if (id.startsWith('sr')) return 'cdrom';
    if (id.startsWith('mmcblk')) return 'mmc';
    const subsystem = linkName(join(deviceLink, 'subsystem'));
    if (subsystem === 'virtio') return 'virtio';
    if (devicePath?.includes('/usb')) return 'usb';
    if (subsystem === 'scsi') return devicePath?.includes('/ata') ? 'sata' : 'scsi';
    return subsystem ?? '';
  }

  /** The /dev/disk/<kind> name (udev) that points at the whole disk, if udev made one. */
  private devLink(kind: 'by-id' | 'by-path', id: string): string | undefined {
    const dir = join(this.root, 'dev/disk', kind);
    return listDir(dir).find((e) => linkName(join(dir, e)) === id);
  }
}
