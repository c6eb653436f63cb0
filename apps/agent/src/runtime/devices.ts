// Turns an instance's expanded devices into what the liblxc config needs: NICs with their names, MACs and
// host-side names chosen, and bind mounts with their source kinds known. Pure apart from the injected host view.
import type { AgentInstanceSpec } from '@lxdts/api-types';
import { badRequest } from '../errors.js';
import { isFalse, isTrue } from './limits.js';

export type PathKind = 'dir' | 'file' | 'block' | 'char' | 'missing';

/** The host facts device resolution needs; the runtime passes the real ones, tests fake them. */
export interface DeviceHost {
  pathKind(path: string): PathKind;
  interfaceExists(name: string): boolean;
  randomBytes(n: number): Buffer;
}

export interface ResolvedNic {
  device: string;
  /** liblxc network type. */
  type: 'veth' | 'macvlan' | 'phys';
  /** Host bridge (veth), parent (macvlan), or host device moved in (phys); null for p2p. */
  link: string | null;
  /** Interface name in the container. */
  name: string;
  hwaddr: string;
  /** veth host side; null for macvlan/phys. */
  hostName: string | null;
  mtu: number | null;
  /**
   * `routed` NICs (liblxc's veth router mode): the container's addresses (x/32), host routes to them and a proxy-ARP
   * gateway on the host side (LXD's 169.254.0.1).
   */
  routed?: { ipv4: string[]; gateway: string };
}

export interface ResolvedMount {
  device: string;
  source: string;
  /** Absolute path inside the container. */
  path: string;
  isDir: boolean;
  readonly: boolean;
  recursive: boolean;
  propagation: string | null;
  /** Idmap the mount to the container (`shift=true`). */
  shift: boolean;
}

export interface ResolvedDevices {
  nics: ResolvedNic[];
  mounts: ResolvedMount[];
  /** Values chosen here that the API keeps (`volatile.<dev>.hwaddr`, `.host_name`, `.name`). */
  volatile: Record<string, string>;
}

const IFNAME = /^[A-Za-z0-9_.:@-]{1,15}$/;
const MAC = /^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$/;
const PROPAGATION = ['private', 'shared', 'slave', 'unbindable', 'rshared', 'rslave', 'runbindable', 'rprivate'];

/** LXD's MAC prefix (00:16:3e, Xensource) followed by three random bytes. */
export function randomHwaddr(host: DeviceHost): string {
  const b = host.randomBytes(3);
  return ['00', '16', '3e', ...[...b].map((x) => x.toString(16).padStart(2, '0'))].join(':');
}

/** LXD's host-side veth name: `veth` + 8 random hex digits. */
export function randomVethName(host: DeviceHost): string {
  return `veth${host.randomBytes(4).toString('hex')}`;
}

export function resolveDevices(spec: AgentInstanceSpec, host: DeviceHost): ResolvedDevices {
  const nics: ResolvedNic[] = [];
  const mounts: ResolvedMount[] = [];
  const volatile: Record<string, string> = {};
  const names = Object.keys(spec.devices).sort();

  // Names already taken (explicit or remembered), so generated ethN never collide (LXD's NextInterfaceName).
  const taken = new Set<string>();
  for (const dev of names) {
    const d = spec.devices[dev] ?? {};
    if (d['type'] !== 'nic') continue;
    const n = d['name'] || spec.config[`volatile.${dev}.name`];
    if (n) taken.add(n);
  }

  for (const dev of names) {
    const d = spec.devices[dev] ?? {};
    switch (d['type']) {
      case 'none':
        break;
      case 'nic':
        nics.push(resolveNic(spec, dev, d, host, taken, volatile));
        break;
      case 'disk': {
        const m = resolveDisk(spec, dev, d, host);
        if (m) mounts.push(m);
        break;
      }
      default:
        throw badRequest(`Unsupported device type "${d['type'] ?? ''}" for device "${dev}"`);
    }
  }
  // Parents before children: /mnt before /mnt/a.
  mounts.sort((a, b) => a.path.split('/').length - b.path.split('/').length || a.path.localeCompare(b.path));
  return { nics, mounts, volatile };
}

function resolveNic(
  spec: AgentInstanceSpec,
  dev: string,
  d: Record<string, string>,
  host: DeviceHost,
  taken: Set<string>,
  volatile: Record<string, string>,
): ResolvedNic {
  // A managed network's bridge carries the network's name (the API resolves other network types first).
  const nictype = d['nictype'] || (d['network'] ? 'bridged' : '');
  const parent = d['parent'] || (d['nictype'] ? '' : (d['network'] ?? ''));

  let name = d['name'] || spec.config[`volatile.${dev}.name`] || '';
  if (!name) {
    for (let i = 0; ; i++) {
      if (!taken.has(`eth${i}`)) {
        name = `eth${i}`;
        break;
      }
    }
    taken.add(name);
    volatile[`volatile.${dev}.name`] = name;
  }
  if (!IFNAME.test(name)) throw badRequest(`Invalid value for device "${dev}" name: ${name}`);

  let hwaddr = d['hwaddr'] || spec.config[`volatile.${dev}.hwaddr`] || '';
  if (!hwaddr) {
    hwaddr = randomHwaddr(host);
    volatile[`volatile.${dev}.hwaddr`] = hwaddr;
  }
  if (!MAC.test(hwaddr)) throw badRequest(`Invalid value for device "${dev}" hwaddr: ${hwaddr}`);

  let mtu: number | null = null;
  if (d['mtu']) {
    if (!/^\d+$/.test(d['mtu']) || Number(d['mtu']) < 68 || Number(d['mtu']) > 65535) {
      throw badRequest(`Invalid value for device "${dev}" mtu: ${d['mtu']}`);
    }
    mtu = Number(d['mtu']);
  }

  const needParent = () => {
    if (!parent) throw badRequest(`Device "${dev}": missing parent for nictype "${nictype}"`);
    if (!IFNAME.test(parent)) throw badRequest(`Invalid value for device "${dev}" parent: ${parent}`);
    if (!host.interfaceExists(parent)) throw badRequest(`Failed to start device "${dev}": Parent device "${parent}" doesn't exist`);
    return parent;
  };
  const vethHostName = () => {
    // A configured host_name is kept; otherwise a fresh random one each start, as LXD does.
    const h = d['host_name'] || randomVethName(host);
    if (!IFNAME.test(h)) throw badRequest(`Invalid value for device "${dev}" host_name: ${h}`);
    volatile[`volatile.${dev}.host_name`] = h;
    return h;
  };

  switch (nictype) {
    case 'bridged':
      return { device: dev, type: 'veth', link: needParent(), name, hwaddr, hostName: vethHostName(), mtu };
    case 'p2p':
      return { device: dev, type: 'veth', link: null, name, hwaddr, hostName: vethHostName(), mtu };
    case 'macvlan':
      return { device: dev, type: 'macvlan', link: needParent(), name, hwaddr, hostName: null, mtu };
    case 'physical':
      return { device: dev, type: 'phys', link: needParent(), name, hwaddr, hostName: null, mtu };
    case 'routed': {
      if (d['parent']) throw badRequest(`Device "${dev}": "parent" on routed NICs is not supported yet`);
      const ipv4 = (d['ipv4.address'] ?? '').split(',').map((a) => a.trim()).filter(Boolean);
      if (ipv4.length === 0) throw badRequest(`Device "${dev}": a routed NIC needs ipv4.address (IPv6 is not supported yet)`);
      for (const a of ipv4) if (!/^(\d{1,3}\.){3}\d{1,3}$/.test(a)) throw badRequest(`Invalid value for device "${dev}" ipv4.address: ${a}`);
      const gateway = !d['ipv4.gateway'] || d['ipv4.gateway'] === 'auto' ? '169.254.0.1' : d['ipv4.gateway'];
      if (!/^(\d{1,3}\.){3}\d{1,3}$/.test(gateway)) throw badRequest(`Invalid value for device "${dev}" ipv4.gateway: ${gateway}`);
      return { device: dev, type: 'veth', link: null, name, hwaddr, hostName: vethHostName(), mtu, routed: { ipv4: ipv4.map((a) => `${a}/32`), gateway } };
    }
    case '':
      throw badRequest(`Device "${dev}": missing nictype`);
    default:
      throw badRequest(`Unsupported nictype "${nictype}" for device "${dev}"`);
  }
}

function resolveDisk(spec: AgentInstanceSpec, dev: string, d: Record<string, string>, host: DeviceHost): ResolvedMount | null {
  const path = d['path'] ?? '';
  if (path === '/') return null; // The root disk is the rootfs itself.
  if (!path.startsWith('/')) throw badRequest(`Device "${dev}": disk path must be absolute: "${path}"`);
  if (path.split('/').includes('..')) throw badRequest(`Device "${dev}": invalid disk path "${path}"`);
  const source = d['source'] ?? '';
  if (!source.startsWith('/')) {
    if (d['pool']) throw badRequest(`Device "${dev}": custom volume "${source}" must be resolved to a host path by the API`);
    throw badRequest(`Device "${dev}": unsupported disk source "${source}"`);
  }
  const kind = host.pathKind(source);
  if (kind === 'missing') {
    if (isFalse(d['required'])) return null;
    throw badRequest(`Missing source path "${source}" for disk "${dev}"`);
  }
  if (kind === 'block' || kind === 'char') throw badRequest(`Device "${dev}": block device sources are not supported yet`);
  const propagation = d['propagation'] || null;
  if (propagation && !PROPAGATION.includes(propagation)) {
    throw badRequest(`Invalid value for device "${dev}" propagation: ${propagation}`);
  }
  const shift = isTrue(d['shift']);
  if (shift && spec.idmap === null) throw badRequest(`Device "${dev}": shift is only for unprivileged containers`);
  return {
    device: dev,
    source,
    path,
    isDir: kind === 'dir',
    readonly: isTrue(d['readonly']),
    recursive: isTrue(d['recursive']),
    propagation,
    shift,
  };
}
