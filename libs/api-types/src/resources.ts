// GET /1.0/resources and /1.0/storage-pools/<name>/resources (rest-api.yaml definitions Resources*).
// Optional fields are the ones LXD omits when empty (omitempty), as seen in wire transcript 20.

export interface ResourcesCPUThread {
  id: number;
  numa_node: number;
  thread: number;
  online: boolean;
  isolated: boolean;
}

export interface ResourcesCPUCore {
  core: number;
  die: number;
  threads: ResourcesCPUThread[];
  /** MHz */
  frequency?: number;
}

export interface ResourcesCPUCache {
  level: number;
  type: string;
  size: number;
}

export interface ResourcesCPUSocket {
  name?: string;
  vendor?: string;
  socket: number;
  cache?: ResourcesCPUCache[];
  cores: ResourcesCPUCore[];
  frequency?: number;
  frequency_minimum?: number;
  frequency_turbo?: number;
}

export interface ResourcesCPU {
  architecture: string;
  sockets: ResourcesCPUSocket[];
  total: number;
}

export interface ResourcesMemoryNode {
  numa_node: number;
  hugepages_used: number;
  hugepages_total: number;
  used: number;
  total: number;
}

export interface ResourcesMemory {
  nodes?: ResourcesMemoryNode[];
  hugepages_total: number;
  hugepages_used: number;
  hugepages_size: number;
  used: number;
  total: number;
}

export interface ResourcesGPUCardDRM {
  id: number;
  card_name: string;
  card_device: string;
  control_name?: string;
  control_device?: string;
  render_name?: string;
  render_device?: string;
}

export interface ResourcesGPUCard {
  driver?: string;
  driver_version?: string;
  drm?: ResourcesGPUCardDRM;
  numa_node: number;
  pci_address?: string;
  vendor?: string;
  vendor_id?: string;
  product?: string;
  product_id?: string;
  usb_address?: string;
}

export interface ResourcesGPU {
  cards: ResourcesGPUCard[];
  total: number;
}

export interface ResourcesNetworkCardPort {
  id: string;
  address?: string;
  port: number;
  protocol: string;
  supported_modes?: string[];
  supported_ports?: string[];
  port_type?: string;
  transceiver_type?: string;
  auto_negotiation: boolean;
  link_detected: boolean;
  /** Mbit/s */
  link_speed?: number;
  link_duplex?: string;
}

export interface ResourcesNetworkCard {
  driver: string;
  driver_version: string;
  ports?: ResourcesNetworkCardPort[];
  numa_node: number;
  pci_address?: string;
  vendor?: string;
  vendor_id?: string;
  product?: string;
  product_id?: string;
  firmware_version?: string;
  usb_address?: string;
}

export interface ResourcesNetwork {
  cards: ResourcesNetworkCard[];
  total: number;
}

export interface ResourcesStorageDiskPartition {
  id: string;
  device: string;
  read_only: boolean;
  size: number;
  partition: number;
}

export interface ResourcesStorageDisk {
  id: string;
  device: string;
  model?: string;
  type: string;
  read_only: boolean;
  size: number;
  removable: boolean;
  wwn?: string;
  numa_node: number;
  device_path?: string;
  block_size: number;
  firmware_version?: string;
  rpm: number;
  serial?: string;
  device_id: string;
  partitions: ResourcesStorageDiskPartition[];
  pci_address?: string;
  usb_address?: string;
}

export interface ResourcesStorage {
  disks: ResourcesStorageDisk[];
  total: number;
}

export interface ResourcesUSBDeviceInterface {
  class: string;
  class_id: number;
  driver: string;
  driver_version: string;
  number: number;
  subclass: string;
  subclass_id: number;
}

export interface ResourcesUSBDevice {
  bus_address: number;
  device_address: number;
  interfaces: ResourcesUSBDeviceInterface[];
  product: string;
  product_id: string;
  /** Mbit/s */
  speed: number;
  vendor: string;
  vendor_id: string;
}

export interface ResourcesUSB {
  devices: ResourcesUSBDevice[];
  total: number;
}

export interface ResourcesPCIVPD {
  product_name?: string;
  entries?: Record<string, string>;
}

export interface ResourcesPCIDevice {
  driver: string;
  driver_version: string;
  numa_node: number;
  pci_address: string;
  vendor: string;
  vendor_id: string;
  product: string;
  product_id: string;
  iommu_group: number;
  vpd: ResourcesPCIVPD;
}

export interface ResourcesPCI {
  devices: ResourcesPCIDevice[];
  total: number;
}

export interface ResourcesSystemFirmware {
  date: string;
  vendor: string;
  version: string;
}

export interface ResourcesSystemChassis {
  serial: string;
  type: string;
  vendor: string;
  version: string;
}

export interface ResourcesSystemMotherboard {
  product: string;
  serial: string;
  vendor: string;
  version: string;
}

export interface ResourcesSystem {
  uuid: string;
  vendor: string;
  product: string;
  family: string;
  version: string;
  sku: string;
  serial: string;
  /** physical, virtual-machine, container or unknown */
  type: string;
  firmware: ResourcesSystemFirmware | null;
  chassis: ResourcesSystemChassis | null;
  motherboard: ResourcesSystemMotherboard | null;
}

export interface Resources {
  cpu: ResourcesCPU;
  memory: ResourcesMemory;
  gpu: ResourcesGPU;
  network: ResourcesNetwork;
  storage: ResourcesStorage;
  usb: ResourcesUSB;
  pci: ResourcesPCI;
  system: ResourcesSystem;
}

export interface ResourcesStoragePool {
  space: { used: number; total: number };
  inodes: { used: number; total: number };
}
