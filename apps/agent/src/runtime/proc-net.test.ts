// The /proc + sysfs network reader against fixtures taken from a running container (kernel 6.18): its result must
// be what networkState() renders from `ip -d -j -s addr show` of the same moment, or null where it can't be sure.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { type IpLink, networkState } from './instance-state.reader.js';
import {
  HostLinks,
  type NetSources,
  type SysfsLink,
  formatIpv6,
  networkFromSources,
  parseFibTrie,
  parseIfInet6,
  parseProcNetDev,
  parseProcNetRoute,
} from './proc-net.js';

const NET_DEV = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:       0       0    0    0    0     0          0         0        0       0    0    0    0     0       0          0
  eth0:    2248      28    1    2    0     0          0         0      992      12    3    4    0     0       0          0
`;

const IF_INET6 = `fd420000000000000000000000000007 02 40 00 c0     eth0
fe8000000000000002163efffe57b0fa 02 40 20 80     eth0
00000000000000000000000000000001 01 80 10 80       lo
`;

const FIB_TRIE = `Main:
  +-- 0.0.0.0/1 2 0 2
     +-- 10.55.0.0/24 2 0 2
        +-- 10.55.0.0/29 2 0 2
           |-- 10.55.0.0
              /24 link UNICAST
           |-- 10.55.0.7
              /32 host LOCAL
        |-- 10.55.0.255
           /32 link BROADCAST
     +-- 127.0.0.0/8 2 0 2
        +-- 127.0.0.0/31 1 0 0
           |-- 127.0.0.0
              /8 host LOCAL
           |-- 127.0.0.1
              /32 host LOCAL
        |-- 127.255.255.255
           /32 link BROADCAST
Local:
  +-- 0.0.0.0/1 2 0 2
     +-- 10.55.0.0/24 2 0 2
        +-- 10.55.0.0/29 2 0 2
           |-- 10.55.0.0
              /24 link UNICAST
           |-- 10.55.0.7
              /32 host LOCAL
        |-- 10.55.0.255
           /32 link BROADCAST
     +-- 127.0.0.0/8 2 0 2
        +-- 127.0.0.0/31 1 0 0
           |-- 127.0.0.0
              /8 host LOCAL
           |-- 127.0.0.1
              /32 host LOCAL
        |-- 127.255.255.255
           /32 link BROADCAST
`;

const ROUTE = `Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
eth0\t0000370A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0
eth0\t00000000\t0100370A\t0003\t0\t0\t0\t00000000\t0\t0\t0
`;

const LO: SysfsLink = { name: 'lo', ifindex: 1, iflink: 1, mtu: 65536, address: '00:00:00:00:00:00', flags: 0x9, type: 772, rxMissed: 0 };
const ETH0: SysfsLink = { name: 'eth0', ifindex: 2, iflink: 433, mtu: 1500, address: '00:16:3e:57:b0:fa', flags: 0x1003, type: 1, rxMissed: 0 };

/** `nsenter -t <pid> -n ip -d -j -s addr show` at the same moment (trimmed to the fields networkState reads). */
const IP_JSON: IpLink[] = [
  {
    ifindex: 1,
    ifname: 'lo',
    flags: ['LOOPBACK', 'UP', 'LOWER_UP'],
    mtu: 65536,
    link_type: 'loopback',
    address: '00:00:00:00:00:00',
    addr_info: [
      { family: 'inet', local: '127.0.0.1', prefixlen: 8, scope: 'host' },
      { family: 'inet6', local: '::1', prefixlen: 128, scope: 'host' },
    ],
    stats64: { rx: { bytes: 0, packets: 0, errors: 0, dropped: 0 }, tx: { bytes: 0, packets: 0, errors: 0, dropped: 0 } },
  },
  {
    ifindex: 2,
    ifname: 'eth0',
    flags: ['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP'],
    mtu: 1500,
    link_type: 'ether',
    address: '00:16:3e:57:b0:fa',
    link_index: 433,
    link_netnsid: 0,
    linkinfo: { info_kind: 'veth' },
    addr_info: [
      { family: 'inet', local: '10.55.0.7', prefixlen: 24, scope: 'global' },
      { family: 'inet6', local: 'fd42::7', prefixlen: 64, scope: 'global' },
      { family: 'inet6', local: 'fe80::216:3eff:fe57:b0fa', prefixlen: 64, scope: 'link' },
    ],
    stats64: { rx: { bytes: 2248, packets: 28, errors: 1, dropped: 2 }, tx: { bytes: 992, packets: 12, errors: 3, dropped: 4 } },
  },
];

const HOST: Record<number, { name: string; iflink: number }> = { 433: { name: 'veth65e73f63', iflink: 2 }, 7: { name: 'eno1', iflink: 7 } };

const sources = (over: Partial<NetSources> = {}): NetSources => ({
  netDev: NET_DEV,
  ifInet6: IF_INET6,
  fibTrie: FIB_TRIE,
  route: ROUTE,
  links: [ETH0, LO],
  hostLink: (i) => HOST[i] ?? null,
  ...over,
});

test('the /proc reading renders exactly what ip -j gives (order of interfaces and addresses included)', () => {
  const fromProc = networkFromSources(sources());
  const fromIp = networkState(IP_JSON, new Map([[433, 'veth65e73f63']]));
  assert.deepEqual(fromProc, fromIp);
  assert.deepEqual(Object.keys(fromProc ?? {}), ['lo', 'eth0']);
  assert.equal(JSON.stringify(fromProc), JSON.stringify(fromIp));
});

test('rx drops: /proc/net/dev adds rx_missed_errors, ip -s shows rx_dropped alone', () => {
  const net = networkFromSources(sources({ links: [{ ...ETH0, rxMissed: 2 }, LO] }));
  assert.equal(net?.['eth0']?.counters.packets_dropped_inbound, 0);
});

test('host_name only for a veth whose peer is on the host', () => {
  // Peer index known on the host but not pointing back (a macvlan's parent links to itself).
  assert.equal(networkFromSources(sources({ links: [{ ...ETH0, iflink: 7 }, LO] }))?.['eth0']?.host_name, '');
  // Both ends inside the container.
  const a: SysfsLink = { ...ETH0, name: 'va', ifindex: 3, iflink: 4, address: '02:00:00:00:00:03' };
  const b: SysfsLink = { ...ETH0, name: 'vb', ifindex: 4, iflink: 3, address: '02:00:00:00:00:04' };
  const netDev = `${NET_DEV}    va:       0       0    0    0    0     0          0         0        0       0    0    0    0     0       0          0
    vb:       0       0    0    0    0     0          0         0        0       0    0    0    0     0       0          0
`;
  const net = networkFromSources(sources({ netDev, links: [ETH0, LO, a, b], hostLink: (i) => (i === 3 ? { name: 'hostdev', iflink: 4 } : (HOST[i] ?? null)) }));
  assert.equal(net?.['va']?.host_name, '');
  assert.equal(net?.['vb']?.host_name, '');
  assert.equal(net?.['eth0']?.host_name, 'veth65e73f63');
  assert.deepEqual(Object.keys(net ?? {}), ['lo', 'eth0', 'va', 'vb']);
  // The host interface gone: no name rather than a wrong one.
  assert.equal(networkFromSources(sources({ hostLink: () => null }))?.['eth0']?.host_name, '');
});

test('whatever ip could answer differently falls back (null)', () => {
  const cases: [string, Partial<NetSources>][] = [
    // Two global IPv6 addresses on one interface: ip lists the newest first, if_inet6 doesn't say which.
    ['two IPv6 of one scope', { ifInet6: `${IF_INET6}fd430000000000000000000000000009 02 40 00 80     eth0\n` }],
    // A down interface may hold IPv4 addresses the routing trie doesn't show.
    ['a down interface', { links: [{ ...ETH0, flags: 0x1002 }, LO] }],
    // A /32 on lo: no prefix route tells its interface.
    ['a /32 without a route', { fibTrie: FIB_TRIE.replace('|-- 127.0.0.1\n              /32 host LOCAL', '|-- 127.0.0.1\n              /32 host LOCAL\n           |-- 10.9.9.9\n              /32 host LOCAL') }],
    // Two IPv4 addresses on one interface: ip lists the primary first.
    ['two IPv4 on one interface', { fibTrie: FIB_TRIE.replace('|-- 10.55.0.7\n              /32 host LOCAL', '|-- 10.55.0.7\n              /32 host LOCAL\n           |-- 10.55.0.8\n              /32 host LOCAL') }],
    // The same subnet routed on two interfaces.
    ['an ambiguous route', { route: `${ROUTE}lo\t0000370A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n` }],
    // ip prints link addresses of other link types its own way (tunnels as IP addresses, none for tun).
    ['a tun device', { links: [{ ...ETH0, type: 65534 }, LO] }],
    // sysfs and /proc/net/dev disagree (a host sysfs mounted over the container's).
    ['sysfs of another namespace', { links: [LO] }],
    ['an address on an unknown interface', { ifInet6: `${IF_INET6}fe8000000000000000000000000000aa 09 40 20 80     ghost\n` }],
  ];
  for (const [why, over] of cases) assert.equal(networkFromSources(sources(over)), null, why);
  // A default route (with a gateway) is no connected route and changes nothing.
  assert.notEqual(networkFromSources(sources()), null);
});

test('parsers: net/dev, if_inet6, fib_trie, route', () => {
  assert.deepEqual(parseProcNetDev(NET_DEV).get('eth0'), {
    rxBytes: 2248,
    rxPackets: 28,
    rxErrors: 1,
    rxDrop: 2,
    txBytes: 992,
    txPackets: 12,
    txErrors: 3,
    txDropped: 4,
  });
  // Long names run into the numbers.
  assert.equal(parseProcNetDev('a\nb\nvethabcdef012345:1234 5 0 0 0 0 0 0 6 7 0 0 0 0 0 0\n').get('vethabcdef012345')?.rxBytes, 1234);
  assert.deepEqual(parseIfInet6(IF_INET6).map((a) => [a.address, a.ifindex, a.prefixlen, a.scope, a.ifname]), [
    ['fd42::7', 2, 64, 'global', 'eth0'],
    ['fe80::216:3eff:fe57:b0fa', 2, 64, 'link', 'eth0'],
    ['::1', 1, 128, 'host', 'lo'],
  ]);
  const locals = parseFibTrie(FIB_TRIE).filter((e) => e.type === 'LOCAL');
  assert.deepEqual(locals, [
    { prefix: '10.55.0.7', len: 32, scope: 'host', type: 'LOCAL' },
    { prefix: '127.0.0.0', len: 8, scope: 'host', type: 'LOCAL' },
    { prefix: '127.0.0.1', len: 32, scope: 'host', type: 'LOCAL' },
  ]);
  assert.deepEqual(parseProcNetRoute(ROUTE), [
    { iface: 'eth0', destination: 0x0a370000, gateway: 0, mask: 0xffffff00 },
    { iface: 'eth0', destination: 0, gateway: 0x0a370001, mask: 0 },
  ]);
});

test('formatIpv6 writes addresses as glibc inet_ntop (what ip prints)', () => {
  const ip = (hex: string) => formatIpv6(Uint8Array.from(Buffer.from(hex, 'hex')));
  assert.equal(ip('00000000000000000000000000000001'), '::1');
  assert.equal(ip('00000000000000000000000000000000'), '::');
  assert.equal(ip('00010000000000000000000000000000'), '1::');
  assert.equal(ip('fe8000000000000002163efffe57b0fa'), 'fe80::216:3eff:fe57:b0fa');
  assert.equal(ip('20010db8000000010000000000000001'), '2001:db8:0:1::1');
  // Longest zero run wins, the first of equal runs, a single zero group stays.
  assert.equal(ip('00010000000000010000000000000001'), '1:0:0:1::1');
  assert.equal(ip('00010000000000010001000000000001'), '1::1:1:0:0:1');
  assert.equal(ip('00010000000100010001000100010001'), '1:0:1:1:1:1:1:1');
  // IPv4-mapped and -compatible addresses end in dotted quads.
  assert.equal(ip('00000000000000000000ffff01020304'), '::ffff:1.2.3.4');
  assert.equal(ip('00000000000000000000000001020304'), '::1.2.3.4');
});

test('HostLinks finds host interfaces by index and notices renames', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lxdts-hostlinks-'));
  try {
    const iface = (name: string, ifindex: number, iflink: number) => {
      mkdirSync(join(dir, name), { recursive: true });
      writeFileSync(join(dir, name, 'ifindex'), `${ifindex}\n`);
      writeFileSync(join(dir, name, 'iflink'), `${iflink}\n`);
    };
    iface('lo', 1, 1);
    iface('vethA', 433, 2);
    const links = new HostLinks(dir);
    assert.deepEqual(links.lookup(433), { name: 'vethA', iflink: 2 });
    assert.equal(links.lookup(999), null);
    rmSync(join(dir, 'vethA'), { recursive: true });
    iface('vethB', 433, 5);
    assert.deepEqual(links.lookup(433), { name: 'vethB', iflink: 5 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
