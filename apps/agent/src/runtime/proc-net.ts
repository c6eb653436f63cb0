// A running container's network state without running anything: the init's /proc/<pid>/net files (counters,
// IPv6 addresses, the IPv4 routing trie) and the sysfs the container mounts (/proc/<pid>/root/sys/class/net/<if>/:
// ifindex, iflink, mtu, address, flags, type), plus the host's /sys/class/net for the host side of veth pairs.
// The result is exactly what networkState() renders from `nsenter … ip -d -j -s addr show`; whenever a detail
// can't be told for certain (an IPv4 address whose interface or prefix is ambiguous, an interface that is down and
// so may hold IPv4 addresses the routing trie doesn't show, two addresses whose order `ip` would decide, a link
// type other than ethernet or loopback, a file missing) the reader returns null and the caller runs `ip`.
import { readFileSync, readdirSync } from 'node:fs';
import type { InstanceStateNetwork } from '@lxdts/api-types';

const IFF_UP = 0x1;
const IFF_BROADCAST = 0x2;
const IFF_LOOPBACK = 0x8;
const IFF_POINTOPOINT = 0x10;
const ARPHRD_ETHER = 1;
const ARPHRD_LOOPBACK = 772;

export interface NetDevCounters {
  rxBytes: number;
  rxPackets: number;
  rxErrors: number;
  /** rx_dropped + rx_missed_errors, as /proc/net/dev sums them. */
  rxDrop: number;
  txBytes: number;
  txPackets: number;
  txErrors: number;
  txDropped: number;
}

/** /proc/net/dev → interface name → counters. */
export function parseProcNetDev(text: string): Map<string, NetDevCounters> {
  const out = new Map<string, NetDevCounters>();
  for (const line of text.split('\n').slice(2)) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const name = line.slice(0, colon).trim();
    const f = line.slice(colon + 1).trim().split(/\s+/).map(Number);
    if (!name || f.length < 16 || f.some((n) => !Number.isFinite(n))) continue;
    out.set(name, {
      rxBytes: f[0] as number,
      rxPackets: f[1] as number,
      rxErrors: f[2] as number,
      rxDrop: f[3] as number,
      txBytes: f[8] as number,
      txPackets: f[9] as number,
      txErrors: f[10] as number,
      txDropped: f[11] as number,
    });
  }
  return out;
}

export interface Inet6Address {
  address: string;
  ifindex: number;
  prefixlen: number;
  /** `ip`'s scope name: global, site, link or host. */
  scope: string;
  /** ipv6_addr_src_scope of the address: the kernel keeps each interface's list sorted by it, highest first. */
  srcScope: number;
  ifname: string;
}

/** RFC 5952 text of 16 bytes as glibc's inet_ntop writes it (what `ip` prints), v4-mapped/compatible included. */
export function formatIpv6(bytes: Uint8Array): string {
  const words: number[] = [];
  for (let i = 0; i < 16; i += 2) words.push(((bytes[i] as number) << 8) | (bytes[i + 1] as number));
  let best = { base: -1, len: 0 };
  let cur = { base: -1, len: 0 };
  for (let i = 0; i < 8; i++) {
    if (words[i] === 0) {
      if (cur.base === -1) cur = { base: i, len: 1 };
      else cur.len++;
    } else if (cur.base !== -1) {
      if (best.base === -1 || cur.len > best.len) best = cur;
      cur = { base: -1, len: 0 };
    }
  }
  if (cur.base !== -1 && (best.base === -1 || cur.len > best.len)) best = cur;
  if (best.base !== -1 && best.len < 2) best = { base: -1, len: 0 };
  let out = '';
  for (let i = 0; i < 8; i++) {
    if (best.base !== -1 && i >= best.base && i < best.base + best.len) {
      if (i === best.base) out += ':';
      continue;
    }
    if (i !== 0) out += ':';
    if (i === 6 && best.base === 0 && (best.len === 6 || (best.len === 5 && words[5] === 0xffff))) {
      out += `${bytes[12]}.${bytes[13]}.${bytes[14]}.${bytes[15]}`;
      break;
    }
    out += (words[i] as number).toString(16);
  }
  if (best.base !== -1 && best.base + best.len === 8) out += ':';
  return out;
}

function ipv6SrcScope(bytes: Uint8Array): number {
  const b0 = bytes[0] as number;
  const b1 = bytes[1] as number;
  if (bytes.every((b, i) => (i === 15 ? b === 1 : b === 0))) return 0x1; // ::1
  if (b0 === 0xfe && (b1 & 0xc0) === 0x80) return 0x2; // fe80::/10
  if (b0 === 0xfe && (b1 & 0xc0) === 0xc0) return 0x5; // fec0::/10
  if (b0 === 0xff) return b1 & 0x0f; // multicast: its own scope (never an interface address)
  return 0xe;
}

/** /proc/net/if_inet6: `<32 hex> <ifindex> <prefixlen> <scope> <flags> <name>`, numbers in hex. */
export function parseIfInet6(text: string): Inet6Address[] {
  const out: Inet6Address[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 6 || !/^[0-9a-f]{32}$/i.test(f[0] as string)) continue;
    const bytes = Uint8Array.from(Buffer.from(f[0] as string, 'hex'));
    const kernelScope = parseInt(f[3] as string, 16);
    // rt_scope(): IFA_HOST (0x10) → host, IFA_LINK (0x20) → link, IFA_SITE (0x40) → site, else universe.
    const scope = kernelScope & 0x10 ? 'host' : kernelScope & 0x20 ? 'link' : kernelScope & 0x40 ? 'site' : 'global';
    out.push({
      address: formatIpv6(bytes),
      ifindex: parseInt(f[1] as string, 16),
      prefixlen: parseInt(f[2] as string, 16),
      scope,
      srcScope: ipv6SrcScope(bytes),
      ifname: f[5] as string,
    });
  }
  return out;
}

export interface FibEntry {
  prefix: string;
  len: number;
  scope: string;
  type: string;
}

/** /proc/net/fib_trie: every leaf entry (`|-- 10.0.0.5` then `/32 host LOCAL`), all tables, duplicates removed. */
export function parseFibTrie(text: string): FibEntry[] {
  const out: FibEntry[] = [];
  const seen = new Set<string>();
  let leaf: string | null = null;
  for (const line of text.split('\n')) {
    const l = /^\s*\|-- (\d+\.\d+\.\d+\.\d+)\s*$/.exec(line);
    if (l) {
      leaf = l[1] as string;
      continue;
    }
    if (/^\s*\+--/.test(line) || /^\S/.test(line)) {
      leaf = null;
      continue;
    }
    const e = /^\s*\/(\d+) (\S+) (\S+)/.exec(line);
    if (e && leaf !== null) {
      const key = `${leaf}/${e[1]} ${e[2]} ${e[3]}`;
      if (seen.has(key)) continue;
      seen.add(key);
      out.push({ prefix: leaf, len: Number(e[1]), scope: e[2] as string, type: e[3] as string });
    }
  }
  return out;
}

export interface RouteEntry {
  iface: string;
  /** Big-endian numbers (10.0.0.0 = 0x0a000000). */
  destination: number;
  gateway: number;
  mask: number;
}

const le32 = (hex: string): number => {
  const n = parseInt(hex, 16);
  return (((n & 0xff) << 24) | ((n & 0xff00) << 8) | ((n >>> 8) & 0xff00) | (n >>> 24)) >>> 0;
};

/** /proc/net/route (the main table; numbers are little-endian hex). */
export function parseProcNetRoute(text: string): RouteEntry[] {
  const out: RouteEntry[] = [];
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 8) continue;
    out.push({ iface: f[0] as string, destination: le32(f[1] as string), gateway: le32(f[2] as string), mask: le32(f[7] as string) });
  }
  return out;
}

const ipv4ToNumber = (a: string): number => a.split('.').reduce((n, o) => ((n << 8) | Number(o)) >>> 0, 0);
const maskOf = (len: number): number => (len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0);
const maskLength = (mask: number): number | null => {
  let len = 0;
  while (len < 32 && (mask & (0x80000000 >>> len)) !== 0) len++;
  return maskOf(len) === mask ? len : null;
};

/** One interface as the container's sysfs shows it. */
export interface SysfsLink {
  name: string;
  ifindex: number;
  iflink: number;
  mtu: number;
  address: string;
  flags: number;
  type: number;
  /** statistics/rx_missed_errors (taken back out of /proc/net/dev's drop column, as `ip -s` shows rx_dropped). */
  rxMissed: number;
}

export interface HostLink {
  name: string;
  iflink: number;
}

export interface NetSources {
  netDev: string;
  ifInet6: string;
  fibTrie: string;
  route: string;
  links: SysfsLink[];
  /** The host's interface with this ifindex (for the peer of a veth), or null. */
  hostLink(ifindex: number): HostLink | null;
}

/**
 * LXD's network section from the sources above; null when `ip` could answer differently (see the file comment).
 * Interfaces come in ifindex order, IPv4 before IPv6 in each, as `ip -j addr show` lists them.
 */
export function networkFromSources(src: NetSources): Record<string, InstanceStateNetwork> | null {
  const counters = parseProcNetDev(src.netDev);
  const links = [...src.links].sort((a, b) => a.ifindex - b.ifindex);
  if (links.length !== counters.size || links.some((l) => !counters.has(l.name))) return null;
  for (const l of links) {
    if (l.type !== ARPHRD_ETHER && l.type !== ARPHRD_LOOPBACK) return null;
    // IPv4 addresses of a down interface are not in the routing trie.
    if ((l.flags & IFF_UP) === 0) return null;
  }
  const byName = new Map(links.map((l) => [l.name, l]));
  const byIndex = new Map(links.map((l) => [l.ifindex, l]));

  // IPv4: each local address (a `/32 host LOCAL` leaf) belongs to the loopback device when a wider `host LOCAL`
  // prefix holds it (the kernel adds that for addresses on loopback devices), else to the interface of the one
  // connected route (no gateway) that holds it; its prefix length comes with that route.
  const fib = parseFibTrie(src.fibTrie).filter((e) => e.type === 'LOCAL' && e.scope === 'host');
  const loopbacks = links.filter((l) => (l.flags & IFF_LOOPBACK) !== 0);
  const routes = parseProcNetRoute(src.route).filter((r) => r.gateway === 0 && byName.has(r.iface));
  const inet = new Map<string, { address: string; prefixlen: number }[]>();
  for (const local of fib.filter((e) => e.len === 32)) {
    const a = ipv4ToNumber(local.prefix);
    const owners: { iface: string; len: number }[] = [];
    for (const p of fib) {
      if (p.len < 32 && ((a & maskOf(p.len)) >>> 0) === ipv4ToNumber(p.prefix)) {
        if (loopbacks.length !== 1) return null;
        owners.push({ iface: (loopbacks[0] as SysfsLink).name, len: p.len });
      }
    }
    if (owners.length === 0) {
      for (const r of routes) {
        const len = maskLength(r.mask);
        if (len !== null && ((a & r.mask) >>> 0) === r.destination) owners.push({ iface: r.iface, len });
      }
    }
    if (owners.length !== 1) return null;
    const owner = owners[0] as { iface: string; len: number };
    const list = inet.get(owner.iface) ?? [];
    list.push({ address: local.prefix, prefixlen: owner.len });
    inet.set(owner.iface, list);
  }
  // Several IPv4 addresses on one interface: `ip` lists them primary first, which the trie doesn't tell.
  for (const list of inet.values()) if (list.length > 1) return null;

  const inet6 = new Map<string, Inet6Address[]>();
  for (const a of parseIfInet6(src.ifInet6)) {
    if (!byName.has(a.ifname)) return null;
    const list = inet6.get(a.ifname) ?? [];
    list.push(a);
    inet6.set(a.ifname, list);
  }
  for (const list of inet6.values()) {
    // The kernel keeps them by scope, widest first, newest first within a scope: only the scope order is known.
    list.sort((x, y) => y.srcScope - x.srcScope);
    for (let i = 1; i < list.length; i++) if ((list[i] as Inet6Address).srcScope === (list[i - 1] as Inet6Address).srcScope) return null;
  }

  const out: Record<string, InstanceStateNetwork> = {};
  for (const l of links) {
    const c = counters.get(l.name) as NetDevCounters;
    const loopback = l.type === ARPHRD_LOOPBACK || (l.flags & IFF_LOOPBACK) !== 0;
    out[l.name] = {
      addresses: [
        ...(inet.get(l.name) ?? []).map((a) => ({
          family: 'inet',
          address: a.address,
          netmask: String(a.prefixlen),
          scope: a.address.startsWith('127.') ? 'local' : 'global',
        })),
        ...(inet6.get(l.name) ?? []).map((a) => ({
          family: 'inet6',
          address: a.address,
          netmask: String(a.prefixlen),
          scope: a.scope === 'host' ? 'local' : a.scope,
        })),
      ],
      counters: {
        bytes_received: c.rxBytes,
        bytes_sent: c.txBytes,
        packets_received: c.rxPackets,
        packets_sent: c.txPackets,
        errors_received: c.rxErrors,
        errors_sent: c.txErrors,
        packets_dropped_outbound: c.txDropped,
        packets_dropped_inbound: Math.max(c.rxDrop - l.rxMissed, 0),
      },
      hwaddr: loopback ? '' : l.address,
      host_name: vethPeerOnHost(l, byIndex, src.hostLink),
      mtu: l.mtu,
      state: (l.flags & IFF_UP) !== 0 ? 'up' : 'down',
      type: loopback ? 'loopback' : (l.flags & IFF_POINTOPOINT) !== 0 ? 'point-to-point' : (l.flags & IFF_BROADCAST) !== 0 ? 'broadcast' : 'unknown',
    };
  }
  return out;
}

/**
 * The host side of a veth pair: the host interface whose index is this one's iflink and whose iflink is this
 * one's index. A pair with both ends in the container, or a device linked to a host parent (macvlan: the parent
 * links to itself), has none.
 */
function vethPeerOnHost(l: SysfsLink, inside: ReadonlyMap<number, SysfsLink>, hostLink: (ifindex: number) => HostLink | null): string {
  if (l.iflink === l.ifindex || l.iflink <= 0) return '';
  if (inside.get(l.iflink)?.iflink === l.ifindex) return '';
  const peer = hostLink(l.iflink);
  return peer && peer.iflink === l.ifindex ? peer.name : '';
}

const readText = (file: string): string => readFileSync(file, 'utf8');
const readInt = (file: string): number => {
  const t = readText(file).trim();
  const n = t.startsWith('0x') ? parseInt(t, 16) : Number(t);
  if (!Number.isFinite(n)) throw new Error(`not a number in ${file}`);
  return n;
};

/** The host's interfaces by ifindex, rebuilt from /sys/class/net when a lookup misses or is stale. */
export class HostLinks {
  private byIndex = new Map<number, string>();

  constructor(private readonly sysClassNet = '/sys/class/net') {}

  lookup(ifindex: number): HostLink | null {
    const cached = this.byIndex.get(ifindex);
    if (cached !== undefined) {
      const hit = this.read(cached, ifindex);
      if (hit) return hit;
    }
    this.rescan();
    const name = this.byIndex.get(ifindex);
    return name === undefined ? null : this.read(name, ifindex);
  }

  private read(name: string, ifindex: number): HostLink | null {
    try {
      if (readInt(`${this.sysClassNet}/${name}/ifindex`) !== ifindex) return null;
      return { name, iflink: readInt(`${this.sysClassNet}/${name}/iflink`) };
    } catch {
      return null;
    }
  }

  private rescan(): void {
    const next = new Map<number, string>();
    let names: string[] = [];
    try {
      names = readdirSync(this.sysClassNet);
    } catch {
      // No sysfs: no host names.
    }
    for (const name of names) {
      try {
        next.set(readInt(`${this.sysClassNet}/${name}/ifindex`), name);
      } catch {
        // Gone meanwhile.
      }
    }
    this.byIndex = next;
  }
}

/** Reads the sources of a container whose init is `pid`; null when one is missing (no sysfs mounted, …). */
export function readNetworkFromProc(pid: number, host: HostLinks, proc = '/proc'): Record<string, InstanceStateNetwork> | null {
  try {
    const netDev = readText(`${proc}/${pid}/net/dev`);
    const drops = parseProcNetDev(netDev);
    const sysNet = `${proc}/${pid}/root/sys/class/net`;
    const links: SysfsLink[] = readdirSync(sysNet).map((name) => {
      const dir = `${sysNet}/${name}`;
      let rxMissed = 0;
      // Only a non-zero drop column can hold missed packets (read only then: one file less per interface).
      if ((drops.get(name)?.rxDrop ?? 0) > 0) {
        try {
          rxMissed = readInt(`${dir}/statistics/rx_missed_errors`);
        } catch {
          // Not every device has it: none missed.
        }
      }
      return {
        name,
        ifindex: readInt(`${dir}/ifindex`),
        iflink: readInt(`${dir}/iflink`),
        mtu: readInt(`${dir}/mtu`),
        address: readText(`${dir}/address`).trim(),
        flags: readInt(`${dir}/flags`),
        type: readInt(`${dir}/type`),
        rxMissed,
      };
    });
    return networkFromSources({
      netDev,
      ifInet6: readOptional(`${proc}/${pid}/net/if_inet6`),
      fibTrie: readOptional(`${proc}/${pid}/net/fib_trie`),
      route: readText(`${proc}/${pid}/net/route`),
      links,
      hostLink: (ifindex) => host.lookup(ifindex),
    });
  } catch {
    return null;
  }
}

/** if_inet6 is absent without IPv6, fib_trie without IPv4 routing: then there are no such addresses. */
function readOptional(file: string): string {
  try {
    return readText(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw err;
  }
}
