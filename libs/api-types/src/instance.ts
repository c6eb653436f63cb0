// /1.0/instances (rest-api.yaml definitions Instance*, extensions instances, container_full, instance_get_full).

import type { InstanceSnapshot } from './instance-snapshot.js';
export type InstanceType = 'container' | 'virtual-machine';
export type Devices = Record<string, Record<string, string>>;

export interface InstancePut {
  architecture: string;
  config: Record<string, string>;
  devices: Devices;
  ephemeral: boolean;
  profiles: string[];
  /** Snapshot name to restore to (PUT only; LXD omits it when empty, so GET never carries it). */
  restore?: string;
  stateful: boolean;
  description: string;
}

export interface Instance extends InstancePut {
  created_at: string;
  expanded_config: Record<string, string>;
  expanded_devices: Devices;
  name: string;
  status: string;
  status_code: number;
  last_used_at: string;
  location: string;
  type: InstanceType;
  project: string;
}

export interface InstanceSource {
  /** image, migration, copy, none */
  type: string;
  certificate: string;
  alias: string;
  fingerprint: string;
  properties: Record<string, string>;
  server: string;
  secret: string;
  protocol: string;
  'base-image': string;
  mode: string;
  operation: string;
  secrets: Record<string, string>;
  source: string;
  live: boolean;
  instance_only: boolean;
  container_only: boolean;
  refresh: boolean;
  project: string;
  allow_inconsistent: boolean;
}

export interface InstancesPost extends InstancePut {
  name: string;
  source: InstanceSource;
  instance_type: string;
  type: InstanceType | '';
}

/** Rename / move. */
export interface InstancePost {
  name: string;
  migration: boolean;
  live: boolean;
  instance_only: boolean;
  container_only: boolean;
  pool: string;
  project: string;
  allow_inconsistent: boolean;
}

export interface InstanceStatePut {
  action: 'start' | 'stop' | 'restart' | 'freeze' | 'unfreeze';
  timeout: number;
  force: boolean;
  stateful: boolean;
}

export interface InstanceStateNetworkAddress {
  family: string;
  address: string;
  netmask: string;
  scope: string;
}

export interface InstanceStateNetworkCounters {
  bytes_received: number;
  bytes_sent: number;
  packets_received: number;
  packets_sent: number;
  errors_received: number;
  errors_sent: number;
  packets_dropped_outbound: number;
  packets_dropped_inbound: number;
}

export interface InstanceStateNetwork {
  addresses: InstanceStateNetworkAddress[];
  counters: InstanceStateNetworkCounters;
  hwaddr: string;
  host_name: string;
  mtu: number;
  state: string;
  type: string;
}

export interface InstanceState {
  status: string;
  status_code: number;
  disk: Record<string, { usage: number }> | null;
  memory: { usage: number; usage_peak: number; swap_usage: number; swap_usage_peak: number };
  network: Record<string, InstanceStateNetwork> | null;
  pid: number;
  processes: number;
  cpu: { usage: number };
}

export interface InstanceFull extends Instance {
  state: InstanceState | null;
  snapshots: InstanceSnapshot[] | null;
  backups: unknown[] | null;
}

export interface InstanceExecPost {
  command: string[];
  'wait-for-websocket': boolean;
  interactive: boolean;
  environment: Record<string, string>;
  width: number;
  height: number;
  'record-output': boolean;
  user: number;
  group: number;
  cwd: string;
}
