// NIC device rules: the options of each NIC type and how a `network=` NIC takes its type from the network.
import {
  isAny,
  isBool,
  isIPv4,
  isIPv6,
  isInterfaceName,
  isListOf,
  isNetworkMAC,
  isNetworkMTU,
  isNetworkV4,
  isNetworkV6,
  isNetworkVLAN,
  isOneOf,
  isUint32,
  optional,
  required,
} from '../projects/config-validators.js';
import { type DeviceConfig, type DeviceContext, type Rules, checkRules } from './device-options.js';

const optBool = optional(isBool);

const NIC_VALIDATORS: Rules = {
  acceleration: optional(isOneOf('none', 'sriov')),
  'boot.priority': optional(isUint32),
  gvrp: optBool,
  host_name: isAny,
  hwaddr: optional(isNetworkMAC),
  'ipv4.address': optional(isIPv4),
  'ipv4.gateway': isAny,
  'ipv4.host_address': optional(isIPv4),
  'ipv4.host_table': optional(isUint32),
  'ipv4.neighbor_probe': optBool,
  'ipv4.routes': optional(isListOf(isNetworkV4)),
  'ipv4.routes.external': optional(isListOf(isNetworkV4)),
  'ipv6.address': optional(isIPv6),
  'ipv6.gateway': isAny,
  'ipv6.host_address': optional(isIPv6),
  'ipv6.host_table': optional(isUint32),
  'ipv6.neighbor_probe': optBool,
  'ipv6.routes': optional(isListOf(isNetworkV6)),
  'ipv6.routes.external': optional(isListOf(isNetworkV6)),
  'limits.egress': isAny,
  'limits.ingress': isAny,
  'limits.max': isAny,
  'maas.subnet.ipv4': isAny,
  'maas.subnet.ipv6': isAny,
  mode: optional(isOneOf('l2', 'l3s')),
  mtu: optional(isNetworkMTU),
  name: optional(isInterfaceName),
  network: isAny,
  parent: isAny,
  'security.acls': isAny,
  'security.acls.default.egress.action': optional(isOneOf('allow', 'reject', 'drop')),
  'security.acls.default.egress.logged': optBool,
  'security.acls.default.ingress.action': optional(isOneOf('allow', 'reject', 'drop')),
  'security.acls.default.ingress.logged': optBool,
  'security.ipv4_filtering': optBool,
  'security.ipv6_filtering': optBool,
  'security.mac_filtering': optBool,
  'security.port_isolation': optBool,
  vlan: optional(isNetworkVLAN),
  'vlan.tagged': isAny,
};

const LIMITS = ['limits.egress', 'limits.ingress', 'limits.max'];
const MAAS = ['maas.subnet.ipv4', 'maas.subnet.ipv6'];
const ROUTES = ['ipv4.routes', 'ipv6.routes'];
const ROUTES_EXTERNAL = ['ipv4.routes.external', 'ipv6.routes.external'];
const ADDRESSES = ['ipv4.address', 'ipv6.address'];

/** Options of each NIC type and the option that must be present ('network or parent' when both can do). */
const NIC_TYPES: Record<string, { options: string[]; needs?: 'parent' | 'network' | 'network-or-parent' }> = {
  bridged: {
    options: ['name', 'network', 'parent', 'mtu', 'hwaddr', 'host_name', ...LIMITS, ...ADDRESSES, ...ROUTES, ...ROUTES_EXTERNAL,
      'security.mac_filtering', 'security.ipv4_filtering', 'security.ipv6_filtering', 'security.port_isolation', ...MAAS,
      'boot.priority', 'vlan', 'vlan.tagged'],
    needs: 'network-or-parent',
  },
  macvlan: { options: ['name', 'network', 'parent', 'mtu', 'hwaddr', 'vlan', 'gvrp', ...MAAS, 'boot.priority'], needs: 'network-or-parent' },
  sriov: {
    options: ['name', 'network', 'parent', 'mtu', 'hwaddr', 'vlan', 'security.mac_filtering', ...MAAS, 'boot.priority'],
    needs: 'network-or-parent',
  },
  ovn: {
    options: ['name', 'network', 'hwaddr', 'host_name', ...ADDRESSES, ...ROUTES, ...ROUTES_EXTERNAL, 'boot.priority', 'acceleration',
      'security.acls', 'security.acls.default.egress.action', 'security.acls.default.egress.logged',
      'security.acls.default.ingress.action', 'security.acls.default.ingress.logged'],
    needs: 'network',
  },
  physical: { options: ['name', 'parent', 'mtu', 'hwaddr', 'vlan', 'gvrp', ...MAAS, 'boot.priority'], needs: 'parent' },
  ipvlan: {
    options: ['name', 'parent', 'mtu', 'hwaddr', 'vlan', 'gvrp', 'mode', ...ADDRESSES, 'ipv4.gateway', 'ipv6.gateway',
      'ipv4.host_table', 'ipv6.host_table', 'boot.priority'],
    needs: 'parent',
  },
  p2p: { options: ['name', 'mtu', 'hwaddr', 'host_name', ...LIMITS, ...ROUTES, 'boot.priority'] },
  routed: {
    options: ['name', 'parent', 'mtu', 'hwaddr', 'host_name', 'vlan', 'gvrp', ...LIMITS, ...ADDRESSES, ...ROUTES, 'ipv4.gateway',
      'ipv6.gateway', 'ipv4.host_address', 'ipv6.host_address', 'ipv4.host_table', 'ipv6.host_table',
      'ipv4.neighbor_probe', 'ipv6.neighbor_probe', 'boot.priority'],
  },
};

/** Network type → the NIC type a `network=` NIC gets. */
const NIC_TYPE_OF_NETWORK: Record<string, string> = { bridge: 'bridged', macvlan: 'macvlan', sriov: 'sriov', ovn: 'ovn' };

export function nicProblem(name: string, config: DeviceConfig, ctx: DeviceContext): string | null {
  let nicType = config['nictype'] ?? '';
  const network = config['network'] ?? '';
  if (network !== '') {
    const netType = ctx.networks.get(network);
    if (netType === undefined) {
      return `Failed loading device "${name}": Failed to load network "${network}" for project "${ctx.networkProject}": Network not found`;
    }
    nicType = NIC_TYPE_OF_NETWORK[netType] ?? '';
    if (nicType === '') return `Failed loading device "${name}": Unrecognised NIC network type for network "${network}"`;
  }
  const def = NIC_TYPES[nicType];
  if (!def) return `Failed loading device "${name}": Unsupported device type`;
  if (network !== '') {
    for (const banned of ['nictype', 'parent']) {
      if (config[banned]) return `Cannot use "${banned}" property in conjunction with "network" property`;
    }
  }
  const rules: Rules = {};
  for (const key of def.options) rules[key] = NIC_VALIDATORS[key]!;
  const needs = def.needs === 'network-or-parent' ? (network !== '' ? 'network' : 'parent') : def.needs;
  if (needs) rules[needs] = required();
  return checkRules(config, rules, ['nictype']);
}
