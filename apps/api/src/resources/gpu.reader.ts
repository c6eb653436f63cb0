// GPUs: PCI display controllers (class 0x03) with their DRM nodes (ResourcesGPU).
import { join } from 'node:path';
import type { ResourcesGPU, ResourcesGPUCard, ResourcesGPUCardDRM } from '@lxdts/api-types';
import { PciReader } from './pci.reader.js';
import { listDir, readText } from './sysfs.js';

const DISPLAY_CLASS = 0x03;

export class GpuReader {
  constructor(
    private readonly root: string,
    private readonly pci: PciReader,
  ) {}

  read(): ResourcesGPU {
    const cards = this.pci
      .addresses()
      .filter((a) => this.pci.deviceClass(a) >> 16 === DISPLAY_CLASS)
      .map((a) => this.card(a));
    return { cards, total: cards.length };
  }

  private card(address: string): ResourcesGPUCard {
    const dev = this.pci.device(address);
    const drm = this.drm(join(this.root, 'sys/bus/pci/devices', address, 'drm'));
    return {
      ...(dev.driver ? { driver: dev.driver, driver_version: dev.driver_version } : {}),
      ...(drm ? { drm } : {}),
      numa_node: dev.numa_node,
      pci_address: address,
      vendor_id: dev.vendor_id,
      product_id: dev.product_id,
    };
  }

  private drm(dir: string): ResourcesGPUCardDRM | undefined {
    const entries = listDir(dir);
    const card = entries.find((e) => /^card\d+$/.test(e));
    if (!card) return undefined;
    const dev = (e: string) => readText(join(dir, e, 'dev')) ?? '';
    const control = entries.find((e) => /^controlD\d+$/.test(e));
    const render = entries.find((e) => /^renderD\d+$/.test(e));
    return {
      id: Number(card.slice(4)),
      card_name: card,
      card_device: dev(card),
      ...(control ? { control_name: control, control_device: dev(control) } : {}),
      ...(render ? { render_name: render, render_device: dev(render) } : {}),
    };
  }
}
