// GET /1.0/resources: the host's hardware as the readers see it, read fresh on every call.
import { release } from 'node:os';
import { Injectable } from '@nestjs/common';
import type { Resources } from '@lxdts/api-types';
import { CpuReader } from './cpu.reader.js';
import { DisksReader } from './disks.reader.js';
import { GpuReader } from './gpu.reader.js';
import { MemoryReader } from './memory.reader.js';
import { NetworkCardsReader } from './network-cards.reader.js';
import { PciReader } from './pci.reader.js';
import { SystemReader } from './system.reader.js';
import { UsbReader } from './usb.reader.js';

/** Where the readers look: "/" in production, a fixture tree in tests. */
export interface ResourcesHost {
  root: string;
  kernelRelease: string;
  architecture?: string;
}

@Injectable()
export class ResourcesService {
  private readonly cpu: CpuReader;
  private readonly memory: MemoryReader;
  private readonly disks: DisksReader;
  private readonly network: NetworkCardsReader;
  private readonly pci: PciReader;
  private readonly gpu: GpuReader;
  private readonly usb: UsbReader;
  private readonly system: SystemReader;

  constructor(host: ResourcesHost = { root: '/', kernelRelease: release() }) {
    this.cpu = new CpuReader(host.root, host.architecture);
    this.memory = new MemoryReader(host.root);
    this.disks = new DisksReader(host.root);
    this.network = new NetworkCardsReader(host.root, host.kernelRelease);
    this.pci = new PciReader(host.root, host.kernelRelease);
    this.gpu = new GpuReader(host.root, this.pci);
    this.usb = new UsbReader(host.root, host.kernelRelease);
    this.system = new SystemReader(host.root);
  }

  read(): Resources {
    return {
      cpu: this.cpu.read(),
      memory: this.memory.read(),
      gpu: this.gpu.read(),
      network: this.network.read(),
      storage: this.disks.read(),
      usb: this.usb.read(),
      pci: this.pci.read(),
      system: this.system.read(),
    };
  }
}
