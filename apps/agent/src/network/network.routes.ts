// Managed network endpoints: POST /networks/bridge/ensure (AgentBridgeNetworkSpec), /networks/bridge/:name/delete,
// GET /networks/bridge/:name/leases.
import type { AgentAclRule, AgentBridgeAcls, AgentBridgeNetworkSpec } from '@lxdts/api-types';
import { badRequest } from '../errors.js';
import { type Json, asObject, bool, int, str, stringArray } from '../server/body.js';
import type { AgentRoute } from '../server/http-server.js';
import type { BridgeNetworks } from './bridge-networks.js';

function decodeSpec(o: Json): AgentBridgeNetworkSpec {
  const v4 = o['ipv4'] === null || o['ipv4'] === undefined ? null : asObject(o['ipv4'], '"ipv4"');
  return {
    name: str(o, 'name'),
    mtu: int(o, 'mtu', 0),
    ipv4: v4
      ? { address: str(v4, 'address'), nat: bool(v4, 'nat', false), dhcp: bool(v4, 'dhcp', true), dhcpRanges: stringArray(v4, 'dhcpRanges'), leaseTime: str(v4, 'leaseTime', true) ?? '1h' }
      : null,
    dnsDomain: str(o, 'dnsDomain', true) ?? 'lxd',
    acls: o['acls'] === null || o['acls'] === undefined ? null : decodeAcls(asObject(o['acls'], '"acls"')),
  };
}

const ACTIONS = ['allow', 'reject', 'drop'] as const;
const PROTOCOLS = ['', 'icmp4', 'icmp6', 'tcp', 'udp'] as const;
/** Addresses, CIDRs, ranges and ports as nftables takes them; nothing else may reach its script. */
const SAFE = /^[0-9A-Fa-f.:/-]+$/;

function action(o: Json, key: string): AgentAclRule['action'] {
  const v = str(o, key);
  if (!(ACTIONS as readonly string[]).includes(v)) throw badRequest(`Invalid ACL action "${v}"`);
  return v as AgentAclRule['action'];
}

function safeList(o: Json, key: string): string[] {
  const items = stringArray(o, key);
  for (const i of items) if (!SAFE.test(i)) throw badRequest(`Invalid ACL value "${i}"`);
  return items;
}

function decodeAcls(o: Json): AgentBridgeAcls {
  const rules = (key: string) =>
    (Array.isArray(o[key]) ? (o[key] as unknown[]) : []).map((x): AgentAclRule => {
      const r = asObject(x, `"${key}[]"`);
      const protocol = str(r, 'protocol', true) ?? '';
      if (!(PROTOCOLS as readonly string[]).includes(protocol)) throw badRequest(`Invalid ACL protocol "${protocol}"`);
      const icmpType = str(r, 'icmpType', true) ?? '';
      const icmpCode = str(r, 'icmpCode', true) ?? '';
      if (!/^\d{0,3}$/.test(icmpType) || !/^\d{0,3}$/.test(icmpCode)) throw badRequest('Invalid ICMP type or code');
      return {
        action: action(r, 'action'),
        logged: bool(r, 'logged', false),
        source: safeList(r, 'source'),
        destination: safeList(r, 'destination'),
        protocol: protocol as AgentAclRule['protocol'],
        sourcePorts: safeList(r, 'sourcePorts'),
        destinationPorts: safeList(r, 'destinationPorts'),
        icmpType,
        icmpCode,
      };
    });
  return { ingress: rules('ingress'), egress: rules('egress'), defaultIngress: action(o, 'defaultIngress'), defaultEgress: action(o, 'defaultEgress') };
}

export function networkRoutes(networks: BridgeNetworks): AgentRoute[] {
  return [
    { method: 'POST', path: '/networks/bridge/ensure', handler: async ({ body }) => networks.ensure(decodeSpec(asObject(body ?? {}))) },
    { method: 'POST', path: '/networks/bridge/:name/delete', handler: async ({ params }) => networks.delete(params['name'] ?? '') },
    { method: 'GET', path: '/networks/bridge/:name/leases', handler: async ({ params }) => networks.leases(params['name'] ?? '') },
  ];
}
