import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DisksReader } from './disks.reader.js';
import { type FixtureEntry, fixtureTree } from './fixture-tree.js';
import { GpuReader } from './gpu.reader.js';
import { NetworkCardsReader } from './network-cards.reader.js';
import { PciReader } from './pci.reader.js';
import { SystemReader } from './system.reader.js';
import { UsbReader } from './usb.reader.js';

const PCI = 'sys/devices/pci0000:00';

/** A VM-like machine: virtio disk and NIC, a host bridge without driver, a GPU with DRM nodes, one USB device. */
function machineFixture(): Record<string, FixtureEntry> {
  return {
    [`${PCI}/0000:00:00.0/vendor`]: '0x8086',
    [`${PCI}/0000:00:00.0/device`]: '0x0d57',
    [`${PCI}/0000:00:00.0/class`]: '0x060000',
    [`${PCI}/0000:00:00.0/numa_node`]: '-1',
    [`${PCI}/0000:00:02.0/vendor`]: '0x1af4',
    [`${PCI}/0000:00:02.0/device`]: '0x1042',
    [`${PCI}/0000:00:02.0/class`]: '0x018000',
    [`${PCI}/0000:00:02.0/numa_node`]: '-1',
    [`${PCI}/0000:00:02.0/driver`]: { link: '../../../bus/pci/drivers/virtio-pci' },
    [`${PCI}/0000:00:02.0/virtio1/vendor`]: '0x1af4',
    [`${PCI}/0000:00:02.0/virtio1/device`]: '0x0002',
    [`${PCI}/0000:00:02.0/virtio1/subsystem`]: { link: '../../../../bus/virtio' },
    [`${PCI}/0000:00:03.0/vendor`]: '0x1af4',
    [`${PCI}/0000:00:03.0/device`]: '0x1041',
    [`${PCI}/0000:00:03.0/class`]: '0x020000',
    [`${PCI}/0000:00:03.0/numa_node`]: '1',
    [`${PCI}/0000:00:03.0/iommu_group`]: { link: '../../../kernel/iommu_groups/7' },
    [`${PCI}/0000:00:03.0/driver`]: { link: '../../../bus/pci/drivers/virtio-pci' },
    [`${PCI}/0000:00:03.0/virtio2/vendor`]: '0x1af4',
    [`${PCI}/0000:00:03.0/virtio2/device`]: '0x0001',
    [`${PCI}/0000:00:03.0/virtio2/driver`]: { link: '../../../../bus/virtio/drivers/virtio_net' },
    [`${PCI}/0000:00:04.0/vendor`]: '0x1234',
    [`${PCI}/0000:00:04.0/device`]: '0x1111',
    [`${PCI}/0000:00:04.0/class`]: '0x030000',
    [`${PCI}/0000:00:04.0/driver`]: { link: '../../../bus/pci/drivers/bochs-drm' },
    [`${PCI}/0000:00:04.0/drm/card0/dev`]: '226:0',
    [`${PCI}/0000:00:04.0/drm/renderD128/dev`]: '226:128',
    'sys/module/bochs-drm/version': '1.2.3',
    ...Object.fromEntries(
      ['0000:00:00.0', '0000:00:02.0', '0000:00:03.0', '0000:00:04.0'].map((a) => [`sys/bus/pci/devices/${a}`, { link: `../../../devices/pci0000:00/${a}` }]),
    ),
    // disks: vda with one partition; loop0 is virtual (no device link)
    'sys/block/vda': { link: '../devices/pci0000:00/0000:00:02.0/virtio1/block/vda' },
    [`${PCI}/0000:00:02.0/virtio1/block/vda/device`]: { link: '../../../virtio1' },
    [`${PCI}/0000:00:02.0/virtio1/block/vda/dev`]: '254:0',
    [`${PCI}/0000:00:02.0/virtio1/block/vda/size`]: '1000',
    [`${PCI}/0000:00:02.0/virtio1/block/vda/ro`]: '0',
    [`${PCI}/0000:00:02.0/virtio1/block/vda/removable`]: '0',
    [`${PCI}/0000:00:02.0/virtio1/block/vda/queue/rotational`]: '1',
    [`${PCI}/0000:00:02.0/virtio1/block/vda/queue/logical_block_size`]: '512',
    [`${PCI}/0000:00:02.0/virtio1/block/vda/vda1/partition`]: '1',
    [`${PCI}/0000:00:02.0/virtio1/block/vda/vda1/dev`]: '254:1',
    [`${PCI}/0000:00:02.0/virtio1/block/vda/vda1/size`]: '800',
    [`${PCI}/0000:00:02.0/virtio1/block/vda/vda1/ro`]: '0',
    'sys/block/loop0/dev': '7:0',
    'sys/block/loop0/size': '0',
    'dev/disk/by-id/virtio-disk0': { link: '../../vda' },
    // network: eth0 on the virtio NIC, lo without device
    'sys/class/net/eth0/device': { link: `../../../devices/pci0000:00/0000:00:03.0/virtio2` },
    'sys/class/net/eth0/address': '02:fc:00:00:00:01',
    'sys/class/net/eth0/dev_port': '0',
    'sys/class/net/eth0/type': '1',
    'sys/class/net/eth0/carrier': '1',
    'sys/class/net/eth0/speed': '-1',
    'sys/class/net/eth0/duplex': 'unknown',
    'sys/class/net/lo/address': '00:00:00:00:00:00',
    'sys/class/net/lo/type': '772',
    // usb: one device with one interface
    'sys/bus/usb/devices/1-1/busnum': '1',
    'sys/bus/usb/devices/1-1/devnum': '3',
    'sys/bus/usb/devices/1-1/idVendor': '0557',
    'sys/bus/usb/devices/1-1/idProduct': '2221',
    'sys/bus/usb/devices/1-1/product': 'Hermon USB hidmouse Device',
    'sys/bus/usb/devices/1-1/manufacturer': 'ATEN',
    'sys/bus/usb/devices/1-1/speed': '12',
    'sys/bus/usb/devices/1-1/1-1:1.0/bInterfaceClass': '03',
    'sys/bus/usb/devices/1-1/1-1:1.0/bInterfaceSubClass': '01',
    'sys/bus/usb/devices/1-1/1-1:1.0/bInterfaceNumber': '00',
    'sys/bus/usb/devices/1-1/1-1:1.0/driver': { link: '../../../../bus/usb/drivers/usbhid' },
    // system
    'sys/class/dmi/id/sys_vendor': 'QEMU',
    'sys/class/dmi/id/product_name': 'Standard PC (Q35 + ICH9, 2009)',
    'sys/class/dmi/id/product_uuid': '7fa1c0cc-2271-11b2-a85c-aab32a05d71a',
    'sys/class/dmi/id/chassis_type': '1',
    'sys/class/dmi/id/bios_vendor': 'SeaBIOS',
    'sys/class/dmi/id/bios_date': '04/01/2014',
    'sys/class/dmi/id/bios_version': '1.16.0',
    'sys/class/dmi/id/board_vendor': 'QEMU',
    'proc/cpuinfo': 'processor\t: 0\nflags\t\t: fpu vme hypervisor\n',
  };
}

const KERNEL = '6.1.0-test';

test('pci reader lists devices with drivers, ids, NUMA nodes and IOMMU groups', () => {
  const tree = fixtureTree(machineFixture());
  try {
    const pci = new PciReader(tree.root, KERNEL).read();
    assert.equal(pci.total, 4);
    assert.deepEqual(pci.devices[0], {
      driver: '', driver_version: '', numa_node: 0, pci_address: '0000:00:00.0', vendor: '', vendor_id: '8086',
      product: '', product_id: '0d57', iommu_group: 0, vpd: {},
    });
    assert.equal(pci.devices[2]!.driver, 'virtio-pci');
    assert.equal(pci.devices[2]!.driver_version, KERNEL); // built-in driver: no module version
    assert.equal(pci.devices[2]!.numa_node, 1);
    assert.equal(pci.devices[2]!.iommu_group, 7);
  } finally {
    tree.remove();
  }
});

test('disks reader lists hardware disks with partitions and skips virtual ones', () => {
  const tree = fixtureTree(machineFixture());
  try {
    const storage = new DisksReader(tree.root).read();
    assert.equal(storage.total, 1);
    assert.deepEqual(storage.disks[0], {
      id: 'vda', device: '254:0', type: 'virtio', read_only: false, size: 512000, removable: false, numa_node: 0,
      block_size: 512, rpm: 1, device_id: 'virtio-disk0',
      partitions: [{ id: 'vda1', device: '254:1', read_only: false, size: 409600, partition: 1 }],
      pci_address: '0000:00:02.0',
    });
  } finally {
    tree.remove();
  }
});

test('network cards reader groups ports by device and reads link facts', () => {
  const tree = fixtureTree(machineFixture());
  try {
    const net = new NetworkCardsReader(tree.root, KERNEL).read();
    assert.equal(net.total, 1);
    assert.deepEqual(net.cards[0], {
      driver: 'virtio_net', driver_version: KERNEL,
      ports: [{ id: 'eth0', address: '02:fc:00:00:00:01', port: 0, protocol: 'ethernet', auto_negotiation: false, link_detected: true }],
      numa_node: 1, pci_address: '0000:00:03.0', vendor_id: '1af4', product_id: '0001',
    });
  } finally {
    tree.remove();
  }
});

test('gpu reader reports display-class PCI devices with DRM nodes', () => {
  const tree = fixtureTree(machineFixture());
  try {
    const gpu = new GpuReader(tree.root, new PciReader(tree.root, KERNEL)).read();
    assert.deepEqual(gpu, {
      total: 1,
      cards: [{
        driver: 'bochs-drm', driver_version: '1.2.3',
        drm: { id: 0, card_name: 'card0', card_device: '226:0', render_name: 'renderD128', render_device: '226:128' },
        numa_node: 0, pci_address: '0000:00:04.0', vendor_id: '1234', product_id: '1111',
      }],
    });
  } finally {
    tree.remove();
  }
});

test('usb reader lists devices and interfaces', () => {
  const tree = fixtureTree(machineFixture());
  try {
    const usb = new UsbReader(tree.root, KERNEL).read();
    assert.deepEqual(usb, {
      total: 1,
      devices: [{
        bus_address: 1, device_address: 3, product: 'Hermon USB hidmouse Device', product_id: '2221', speed: 12,
        vendor: 'ATEN', vendor_id: '0557',
        interfaces: [{ class: '', class_id: 3, driver: 'usbhid', driver_version: KERNEL, number: 0, subclass: '', subclass_id: 1 }],
      }],
    });
  } finally {
    tree.remove();
  }
});

test('system reader reads DMI and detects a virtual machine', () => {
  const tree = fixtureTree(machineFixture());
  try {
    const sys = new SystemReader(tree.root).read();
    assert.equal(sys.type, 'virtual-machine');
    assert.equal(sys.vendor, 'QEMU');
    assert.equal(sys.uuid, '7fa1c0cc-2271-11b2-a85c-aab32a05d71a');
    assert.deepEqual(sys.firmware, { date: '04/01/2014', vendor: 'SeaBIOS', version: '1.16.0' });
    assert.deepEqual(sys.chassis, { serial: '', type: 'Other', vendor: '', version: '' });
    assert.equal(sys.motherboard?.vendor, 'QEMU');
  } finally {
    tree.remove();
  }
});

test('system reader without DMI: empty strings, null sections; container markers win', () => {
  const tree = fixtureTree({ '.dockerenv': '', 'proc/cpuinfo': 'flags : hypervisor\n' });
  try {
    const sys = new SystemReader(tree.root).read();
    assert.equal(sys.type, 'container');
    assert.equal(sys.firmware, null);
    assert.equal(sys.chassis, null);
    assert.equal(sys.motherboard, null);
    assert.equal(sys.product, '');
  } finally {
    tree.remove();
  }
});
