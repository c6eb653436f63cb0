// Managed network endpoints: POST /networks/bridge/ensure (AgentBridgeNetworkSpec), /networks/bridge/:name/delete,
// GET /networks/bridge/:name/leases.
import type { AgentBridgeNetworkSpec } from '@lxdts/api-types';
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
  };
}

export function networkRoutes(networks: BridgeNetworks): AgentRoute[] {
  return [
    { method: 'POST', path: '/networks/bridge/ensure', handler: async ({ body }) => networks.ensure(decodeSpec(asObject(body ?? {}))) },
    { method: 'POST', path: '/networks/bridge/:name/delete', handler: async ({ params }) => networks.delete(params['name'] ?? '') },
    { method: 'GET', path: '/networks/bridge/:name/leases', handler: async ({ params }) => networks.leases(params['name'] ?? '') },
  ];
}
