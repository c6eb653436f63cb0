// /1.0/networks (rest-api.yaml definitions Network*, NetworkState*; extensions network, network_state).

export interface NetworkPut {
  config: Record<string, string>;
  description: string;
}

export interface NetworksPost extends NetworkPut {
  name: string;
  /** bridge, macvlan, sriov, ovn or physical; "" = bridge. */
  type: string;
}

/** Rename body of POST /1.0/networks/<name>. */
export interface NetworkPost {
  name: string;
}

export interface Network extends NetworkPut {
  name: string;
  /** Managed: the driver; unmanaged: loopback, bridge, bond, vlan, physical or unknown. */
  type: string;
  used_by: string[] | null;
  managed: boolean;
  /** "" for unmanaged interfaces. */
  status: string;
  locations: string[] | null;
}

export interface NetworkStateAddress {
  family: 'inet' | 'inet6';
  address: string;
  /** Prefix length, as a string. */
  netmask: string;
  scope: 'global' | 'link' | 'local';
}

export interface NetworkStateCounters {
  bytes_received: number;
  bytes_sent: number;
  packets_received: number;
  packets_sent: number;
}

export interface NetworkStateBond {
  mode: string;
  transmit_policy: string;
  up_delay: number;
  down_delay: number;
  mii_frequency: number;
  mii_state: string;
  lower_devices: string[];
}

export interface NetworkStateBridge {
  id: string;
  stp: boolean;
  forward_delay: number;
  vlan_default: number;
  vlan_filtering: boolean;
  upper_devices: string[];
}

export interface NetworkStateVLAN {
  lower_device: string;
  vid: number;
}

export interface NetworkStateOVN {
  chassis: string;
}

export interface NetworkState {
  addresses: NetworkStateAddress[];
  counters: NetworkStateCounters;
  hwaddr: string;
  mtu: number;
  state: 'up' | 'down';
  type: 'broadcast' | 'point-to-point' | 'loopback' | 'unknown';
  bond: NetworkStateBond | null;
  bridge: NetworkStateBridge | null;
  vlan: NetworkStateVLAN | null;
  ovn: NetworkStateOVN | null;
}

/** GET /1.0/networks/{name}/leases (extension network_leases). */
export interface NetworkLease {
  hostname: string;
  hwaddr: string;
  address: string;
  /** static, dynamic or gateway. */
  type: string;
  location: string;
}

/** One rule of a network ACL (doc/network-acls.md). */
export interface NetworkACLRule {
  /** allow, reject or drop. */
  action: string;
  /** enabled, disabled or logged ("" = enabled). */
  state: string;
  description: string;
  source: string;
  destination: string;
  /** icmp4, icmp6, tcp, udp or "" (any). */
  protocol: string;
  source_port: string;
  destination_port: string;
  icmp_type: string;
  icmp_code: string;
}

export interface NetworkACLPut {
  description: string;
  egress: NetworkACLRule[];
  ingress: NetworkACLRule[];
  config: Record<string, string>;
}

/** GET /1.0/network-acls/{name} */
export interface NetworkACL extends NetworkACLPut {
  name: string;
  used_by: string[];
}

/** POST /1.0/network-acls */
export interface NetworkACLsPost extends NetworkACLPut {
  name: string;
}
