// USB devices and their interfaces from /sys/bus/usb/devices (ResourcesUSB). Class and product names need the
// usb.ids database and are left empty.
import { join } from 'node:path';
import type { ResourcesUSB, ResourcesUSBDevice, ResourcesUSBDeviceInterface } from '@lxdts/api-types';
import { driverVersion } from './pci.reader.js';
import { hexId, linkName, listDir, readInt, readText } from './sysfs.js';

export class UsbReader {
  constructor(
    private readonly root: string,
    private readonly kernelRelease: string,
  ) {}

  read(): ResourcesUSB {
    const base = join(this.root, 'sys/bus/usb/devices');
    // Entries with a ':' are interfaces of a device, listed under it.
    const devices = listDir(base)
      .filter((e) => !e.includes(':') && readInt(join(base, e, 'busnum')) !== undefined)
      .map((e) => this.device(base, e))
      .sort((a, b) => a.bus_address - b.bus_address || a.device_address - b.device_address);
    return { devices, total: devices.length };
  }

  private device(base: string, name: string): ResourcesUSBDevice {
    const dir = join(base, name);
    const interfaces = listDir(dir)
      .filter((e) => e.startsWith(`${name}:`))
      .map((e) => this.iface(join(dir, e)))
      .sort((a, b) => a.number - b.number);
    return {
      bus_address: readInt(join(dir, 'busnum')) ?? 0,
      device_address: readInt(join(dir, 'devnum')) ?? 0,
      interfaces,
      product: readText(join(dir, 'product')) ?? '',
      product_id: hexId(readText(join(dir, 'idProduct'))),
      speed: Number(readText(join(dir, 'speed')) ?? 0) || 0,
      vendor: readText(join(dir, 'manufacturer')) ?? '',
      vendor_id: hexId(readText(join(dir, 'idVendor'))),
    };
  }

  private iface(dir: string): ResourcesUSBDeviceInterface {
    const driver = linkName(join(dir, 'driver')) ?? '';
    return {
      class: '',
      class_id: readInt(join(dir, 'bInterfaceClass'), 16) ?? 0,
      driver,
      driver_version: driverVersion(this.root, driver, this.kernelRelease),
      number: readInt(join(dir, 'bInterfaceNumber'), 16) ?? 0,
      subclass: '',
      subclass_id: readInt(join(dir, 'bInterfaceSubClass'), 16) ?? 0,
    };
  }
}
