// Network cards: interfaces with a hardware `device`, grouped by that device (ResourcesNetwork). Port types,
// transceivers and supported modes need ethtool's ioctl and are omitted, as LXD omits unknown values.
import { join } from 'node:path';
import type { ResourcesNetwork, ResourcesNetworkCard, ResourcesNetworkCardPort } from '@lxdts/api-types';
import { driverVersion, pciNumaNode } from './pci.reader.js';
import { exists, hexId, linkName, listDir, pciAddressOf, readInt, readText, realPath } from './sysfs.js';

/** /sys/class/net/<if>/type values (ARPHRD_*). */
const PROTOCOLS: Readonly<Record<number, string>> = { 1: 'ethernet', 32: 'infiniband' };

export class NetworkCardsReader {
  constructor(
    private readonly root: string,
    private readonly kernelRelease: string,
  ) {}

  read(): ResourcesNetwork {
    const base = join(this.root, 'sys/class/net');
    const byDevice = new Map<string, string[]>();
    for (const iface of listDir(base)) {
      const device = realPath(join(base, iface, 'device'));
      if (!device) continue;
      byDevice.set(device, [...(byDevice.get(device) ?? []), iface]);
    }
    const cards = [...byDevice].map(([device, ifaces]) => this.card(device, join(base, ifaces[0]!, 'device'), ifaces));
    cards.sort((a, b) => (a.pci_address ?? '').localeCompare(b.pci_address ?? '') || a.driver.localeCompare(b.driver));
    return { cards, total: cards.length };
  }

  private card(devicePath: string, deviceLink: string, ifaces: string[]): ResourcesNetworkCard {
    const driver = linkName(join(deviceLink, 'driver')) ?? '';
    const pci = pciAddressOf(devicePath);
    const vendor = readText(join(deviceLink, 'vendor'));
    const product = readText(join(deviceLink, 'device'));
    const ports = ifaces.map((i) => this.port(i)).sort((a, b) => a.port - b.port || a.id.localeCompare(b.id));
    return {
      driver,
      driver_version: driverVersion(this.root, driver, this.kernelRelease),
      ...(ports.length > 0 ? { ports } : {}),
      numa_node: pci ? pciNumaNode(this.root, pci) : 0,
      ...(pci ? { pci_address: pci } : {}),
      ...(vendor ? { vendor_id: hexId(vendor) } : {}),
      ...(product ? { product_id: hexId(product) } : {}),
    };
  }

  private port(iface: string): ResourcesNetworkCardPort {
    const dir = join(this.root, 'sys/class/net', iface);
    const address = readText(join(dir, 'address'));
    const speed = readInt(join(dir, 'speed'));
    const duplex = readText(join(dir, 'duplex'));
    return {
      id: iface,
      ...(address ? { address } : {}),
      port: readInt(join(dir, 'dev_port')) ?? 0,
      protocol: PROTOCOLS[readInt(join(dir, 'type')) ?? 0] ?? 'unknown',
      auto_negotiation: false,
      link_detected: exists(join(dir, 'carrier')) && readInt(join(dir, 'carrier')) === 1,
      ...(speed !== undefined && speed > 0 ? { link_speed: speed } : {}),
      ...(duplex && duplex !== 'unknown' ? { link_duplex: duplex } : {}),
    };
  }
}
