// GET /1.0/networks/<name>/state for any host interface: link state, counters and addresses (NetworkState).
import { networkInterfaces, type NetworkInterfaceInfo } from 'node:os';
import { join } from 'node:path';
import type { NetworkState, NetworkStateAddress, NetworkStateBond, NetworkStateBridge, NetworkStateVLAN } from '@lxdts/api-types';
import { exists, listDir, readInt, readText } from '../resources/sysfs.js';

const IFF_UP = 0x1;
const IFF_BROADCAST = 0x2;
const IFF_LOOPBACK = 0x8;
const IFF_POINTOPOINT = 0x10;

export type AddressSource = () => NodeJS.Dict<NetworkInterfaceInfo[]>;

export class InterfaceStateReader {
  constructor(
    private readonly root = '/',
    private readonly addresses: AddressSource = networkInterfaces,
  ) {}

  /** undefined when the interface does not exist. */
  read(name: string): NetworkState | undefined {
    const dir = join(this.root, 'sys/class/net', name);
    if (name === '' || name.includes('/') || !exists(dir)) return undefined;
    const flags = readInt(join(dir, 'flags'), 16) ?? 0;
    const stat = (f: string) => readInt(join(dir, 'statistics', f)) ?? 0;
    return {
      addresses: (this.addresses()[name] ?? []).map(toAddress),
      counters: {
        bytes_received: stat('rx_bytes'),
        bytes_sent: stat('tx_bytes'),
        packets_received: stat('rx_packets'),
        packets_sent: stat('tx_packets'),
      },
      hwaddr: hardwareAddress(readText(join(dir, 'address'))),
      mtu: readInt(join(dir, 'mtu')) ?? 0,
      state: (flags & IFF_UP) !== 0 ? 'up' : 'down',
      type:
        (flags & IFF_BROADCAST) !== 0
          ? 'broadcast'
          : (flags & IFF_POINTOPOINT) !== 0
            ? 'point-to-point'
            : (flags & IFF_LOOPBACK) !== 0
              ? 'loopback'
              : 'unknown',
      bond: this.bond(dir),
      bridge: this.bridge(dir),
      vlan: this.vlan(name),
      ovn: null,
    };
  }

  private bridge(dir: string): NetworkStateBridge | null {
    const b = join(dir, 'bridge');
    if (!exists(b)) return null;
    const filtering = readInt(join(b, 'vlan_filtering')) === 1;
    return {
      id: readText(join(b, 'bridge_id')) ?? '',
      stp: (readInt(join(b, 'stp_state')) ?? 0) !== 0,
      forward_delay: readInt(join(b, 'forward_delay')) ?? 0,
      vlan_default: filtering ? (readInt(join(b, 'default_pvid')) ?? 0) : 0,
      vlan_filtering: filtering,
      upper_devices: listDir(join(dir, 'brif')),
    };
  }

  private bond(dir: string): NetworkStateBond | null {
    const b = join(dir, 'bonding');
    if (!exists(b)) return null;
    const word = (f: string) => (readText(join(b, f)) ?? '').split(/\s+/)[0] ?? '';
    return {
      mode: word('mode'),
      transmit_policy: word('xmit_hash_policy'),
      up_delay: readInt(join(b, 'updelay')) ?? 0,
      down_delay: readInt(join(b, 'downdelay')) ?? 0,
      mii_frequency: readInt(join(b, 'miimon')) ?? 0,
      mii_state: readText(join(b, 'mii_status')) ?? '',
      lower_devices: (readText(join(b, 'slaves')) ?? '').split(/\s+/).filter(Boolean),
    };
  }

  /** /proc/net/vlan/<name> holds "Device: <parent>" and "VID: <id>". */
  private vlan(name: string): NetworkStateVLAN | null {
    const text = readText(join(this.root, 'proc/net/vlan', name));
    if (text === undefined) return null;
    return { lower_device: /Device:\s*(\S+)/.exec(text)?.[1] ?? '', vid: Number(/VID:\s*(\d+)/.exec(text)?.[1] ?? 0) };
  }
}

/** An all-zero or missing MAC shows as "" (loopback, tun devices). */
function hardwareAddress(text: string | undefined): string {
  if (!text || /^[0:]*$/.test(text)) return '';
  return text;
}

function toAddress(info: NetworkInterfaceInfo): NetworkStateAddress {
  const inet6 = info.family === 'IPv6';
  const prefix = info.cidr?.split('/')[1] ?? '';
  return { family: inet6 ? 'inet6' : 'inet', address: info.address, netmask: prefix, scope: scopeOf(info.address, inet6) };
}

function scopeOf(address: string, inet6: boolean): NetworkStateAddress['scope'] {
  if (inet6) {
    if (address === '::1') return 'local';
    if (/^fe[89ab]/i.test(address)) return 'link';
    return 'global';
  }
  if (address.startsWith('127.')) return 'local';
  if (address.startsWith('169.254.')) return 'link';
  return 'global';
}
