// Configuration of managed bridge networks (LXD's networks.md, bridge): the keys lxdts implements and their
// checks with LXD's messages, the defaults a new network gets, and what the agent is asked to set up from it.
import { createHash } from 'node:crypto';
import type { AgentBridgeAcls, AgentBridgeNetworkSpec } from '@lxdts/api-types';
import { badRequest } from '../http/api-error.js';

type Check = (value: string) => string | null;

const BOOLEANS = ['true', 'false', '1', '0', 'yes', 'no', 'on', 'off'];
const bool: Check = (v) => (v === '' || BOOLEANS.includes(v.toLowerCase()) ? null : `Invalid value for a boolean "${v}"`);
const truthy = (v: string | undefined) => ['true', '1', 'yes', 'on'].includes((v ?? '').toLowerCase());
const falsy = (v: string | undefined) => ['false', '0', 'no', 'off'].includes((v ?? '').toLowerCase());

export function ipToInt(ip: string): number | null {
  const parts = ip.split('.');
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) return null;
  return parts.reduce((n, p) => n * 256 + Number(p), 0);
}

const intToIp = (n: number) => [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');

/** An IPv4 CIDR with a host address ("10.0.3.1/24"): its subnet as [first, last] integers; null if invalid. */
export function subnetOf(cidr: string): { first: number; last: number; address: number } | null {
  const m = /^([0-9.]+)\/(\d{1,2})$/.exec(cidr);
  if (!m) return null;
  const address = ipToInt(m[1] as string);
  const prefix = Number(m[2]);
  if (address === null || prefix < 1 || prefix > 30) return null;
  const size = 2 ** (32 - prefix);
  const first = address - (address % size);
  return { first, last: first + size - 1, address };
}

const ipv4Address: Check = (v) => {
  if (v === '' || v === 'none' || v === 'auto') return null;
  const s = subnetOf(v);
  if (!s) return `invalid CIDR address: ${v}`;
  if (s.address === s.first || s.address === s.last) return `Not a usable network address "${v}"`;
  return null;
};

const ranges: Check = (v) => {
  for (const r of v.split(',').map((x) => x.trim()).filter(Boolean)) {
    const [a, b] = r.split('-');
    if (a === undefined || b === undefined || ipToInt(a) === null || ipToInt(b) === null) return `Invalid IP range "${r}"`;
    if ((ipToInt(a) as number) > (ipToInt(b) as number)) return `Start of IP range "${r}" is after its end`;
  }
  return null;
};

const mtu: Check = (v) => (v === '' || (/^\d+$/.test(v) && Number(v) >= 1280 && Number(v) <= 16384) ? null : `Invalid MTU "${v}"`);
const duration: Check = (v) => (v === '' || /^\d+[smhd]?$/.test(v) || v === 'infinite' ? null : `Invalid duration "${v}"`);
const domain: Check = (v) => (v === '' || /^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/.test(v) ? null : `Invalid domain "${v}"`);
const oneOf =
  (...values: string[]): Check =>
  (v) =>
    v === '' || values.includes(v) ? null : `Invalid value "${v}" (not one of ${values.join(', ')})`;
const ipv6Address: Check = (v) => (v === '' || v === 'none' ? null : `IPv6 on managed bridges is not supported yet (only "none")`);

export const BRIDGE_KEYS: Readonly<Record<string, Check>> = {
  'bridge.driver': oneOf('native'),
  'bridge.mtu': mtu,
  'dns.domain': domain,
  'dns.mode': oneOf('managed', 'none'),
  'ipv4.address': ipv4Address,
  'ipv4.dhcp': bool,
  'ipv4.dhcp.expiry': duration,
  'ipv4.dhcp.ranges': ranges,
  'ipv4.nat': bool,
  'ipv6.address': ipv6Address,
  'security.acls': (v) => (v.split(',').every((n) => n.trim() === '' || /^[A-Za-z][A-Za-z0-9-]*$/.test(n.trim())) ? null : `Invalid ACL list "${v}"`),
  'security.acls.default.egress.action': oneOf('allow', 'reject', 'drop'),
  'security.acls.default.ingress.action': oneOf('allow', 'reject', 'drop'),
};

/** LXD's messages: `Invalid option for network "n" option "k"`, `Invalid value for network "n" option "k": …`. */
export function validateBridgeConfig(network: string, config: Record<string, string>): void {
  for (const [key, value] of Object.entries(config)) {
    if (key.startsWith('user.')) continue;
    const check = BRIDGE_KEYS[key];
    if (!check) throw badRequest(`Invalid option for network "${network}" option "${key}"`);
    const problem = check(value);
    if (problem) throw badRequest(`Invalid value for network "${network}" option "${key}": ${problem}`);
  }
  const s = subnetOf(config['ipv4.address'] ?? '');
  for (const r of (config['ipv4.dhcp.ranges'] ?? '').split(',').map((x) => x.trim()).filter(Boolean)) {
    const [a, b] = r.split('-').map((x) => ipToInt(x) as number);
    if (s && ((a as number) < s.first || (b as number) > s.last)) {
      throw badRequest(`Invalid value for network "${network}" option "ipv4.dhcp.ranges": range "${r}" is outside ${config['ipv4.address']}`);
    }
  }
}

/**
 * A new network's config with LXD's defaults filled in: `ipv4.address` absent or "auto" becomes a /24 picked from
 * the name (10.x.y.1, the first one not overlapping `taken`: never by probing the network) with `ipv4.nat=true`;
 * `ipv6.address` becomes "none" (IPv6 on managed bridges is not implemented).
 */
export function withBridgeDefaults(name: string, config: Record<string, string>, taken: { first: number; last: number }[]): Record<string, string> {
  const out = { ...config };
  if ((out['ipv4.address'] ?? 'auto') === 'auto') {
    const seed = createHash('sha256').update(name).digest();
    for (let i = 0; i < 65536; i++) {
      const n = ((seed.readUInt16BE(0) + i * 7919) % 65536) >>> 0;
      const first = ipToInt(`10.${n >> 8}.${n & 255}.0`) as number;
      if (taken.some((t) => first <= t.last && first + 255 >= t.first)) continue;
      out['ipv4.address'] = `${intToIp(first + 1)}/24`;
      if (out['ipv4.nat'] === undefined) out['ipv4.nat'] = 'true';
      break;
    }
    if ((out['ipv4.address'] ?? 'auto') === 'auto') throw badRequest('Failed generating auto config: no unused 10.x.y.0/24 subnet left');
  }
  if (out['ipv6.address'] === undefined) out['ipv6.address'] = 'none';
  return out;
}

/** What the agent sets up on this host for the network's config. */
export function bridgeSpec(name: string, config: Record<string, string>, acls: AgentBridgeAcls | null = null): AgentBridgeNetworkSpec {
  const address = config['ipv4.address'] ?? 'none';
  return {
    name,
    mtu: Number(config['bridge.mtu'] ?? 0) || 0,
    ipv4:
      address === 'none' || address === ''
        ? null
        : {
            address,
            nat: truthy(config['ipv4.nat']),
            dhcp: !falsy(config['ipv4.dhcp']) && config['dns.mode'] !== 'none',
            dhcpRanges: (config['ipv4.dhcp.ranges'] ?? '').split(',').map((r) => r.trim()).filter(Boolean),
            leaseTime: config['ipv4.dhcp.expiry'] || '1h',
          },
    dnsDomain: config['dns.domain'] || 'lxd',
    acls,
  };
}

/** `macvlan` networks (a NIC on them is a macvlan of `parent`): LXD's keys lxdts implements. */
export const MACVLAN_KEYS: Readonly<Record<string, Check>> = {
  parent: (v) => (/^[A-Za-z0-9_.@:-]{1,15}$/.test(v) ? null : `Invalid interface name "${v}"`),
  mtu,
};

export function validateMacvlanConfig(network: string, config: Record<string, string>, interfaceExists: (name: string) => boolean): void {
  for (const [key, value] of Object.entries(config)) {
    if (key.startsWith('user.')) continue;
    const check = MACVLAN_KEYS[key];
    if (!check) throw badRequest(`Invalid option for network "${network}" option "${key}"`);
    const problem = check(value);
    if (problem) throw badRequest(`Invalid value for network "${network}" option "${key}": ${problem}`);
  }
  const parent = config['parent'] ?? '';
  if (parent === '') throw badRequest(`Invalid value for network "${network}" option "parent": Required value`);
  if (!interfaceExists(parent)) throw badRequest(`Network interface "${parent}" not found`);
}
