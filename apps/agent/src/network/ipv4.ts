// IPv4 address arithmetic for managed networks: CIDR parsing and the host range of a subnet.
import { badRequest } from '../errors.js';

export function ipToInt(ip: string): number {
  const parts = ip.split('.');
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) throw badRequest(`Invalid IPv4 address "${ip}"`);
  return parts.reduce((n, p) => n * 256 + Number(p), 0);
}

export function intToIp(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');
}

/** "10.0.3.1/24" → the address, the prefix length and the network address. */
export function parseCidr(cidr: string): { address: string; prefix: number; network: string } {
  const m = /^([0-9.]+)\/(\d{1,2})$/.exec(cidr);
  if (!m) throw badRequest(`Invalid IPv4 CIDR "${cidr}"`);
  const prefix = Number(m[2]);
  if (prefix < 1 || prefix > 30) throw badRequest(`Invalid IPv4 prefix length in "${cidr}"`);
  const ip = ipToInt(m[1] as string);
  const size = 2 ** (32 - prefix);
  return { address: m[1] as string, prefix, network: intToIp(ip - (ip % size)) };
}

/** The usable hosts of the subnet that are not the given (gateway) address: first and last. */
export function cidrHosts(cidr: string): { first: string; last: string } {
  const { address, prefix, network } = parseCidr(cidr);
  const base = ipToInt(network);
  const size = 2 ** (32 - prefix);
  const gateway = ipToInt(address);
  let first = base + 1;
  let last = base + size - 2;
  if (first === gateway) first++;
  if (last === gateway) last--;
  return { first: intToIp(first), last: intToIp(last) };
}
