import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type IpLink, networkState, parseProcCgroup } from './instance-state.reader.js';

test('parseProcCgroup maps v1 controllers (also co-mounted and named) and the unified hierarchy', () => {
  const dirs = parseProcCgroup('9:name=systemd:/lxc.payload.c1\n4:memory:/lxc.payload.c1\n2:cpu,cpuacct:/lxc.payload.c1\n0::/lxc.payload.c1\n');
  assert.equal(dirs.get('memory'), '/sys/fs/cgroup/memory/lxc.payload.c1');
  assert.equal(dirs.get('cpuacct'), '/sys/fs/cgroup/cpu,cpuacct/lxc.payload.c1');
  assert.equal(dirs.get('cpu'), '/sys/fs/cgroup/cpu,cpuacct/lxc.payload.c1');
  assert.equal(dirs.get('name=systemd'), '/sys/fs/cgroup/systemd/lxc.payload.c1');
  assert.equal(dirs.get('unified'), '/sys/fs/cgroup/unified/lxc.payload.c1');
  assert.equal(parseProcCgroup('0::/lxc.payload.c1\n', '/sys/fs/cgroup', true).get('unified'), '/sys/fs/cgroup/lxc.payload.c1');
});

test('networkState renders LXD InstanceStateNetwork from ip -j (container view)', () => {
  const links: IpLink[] = [
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
      stats64: { rx: { bytes: 0, packets: 0 }, tx: { bytes: 0, packets: 0 } },
    },
    {
      ifindex: 2,
      ifname: 'eth0',
      flags: ['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP'],
      mtu: 1500,
      link_type: 'ether',
      address: '00:16:3e:7f:32:d1',
      link_index: 8,
      link_netnsid: 0,
      linkinfo: { info_kind: 'veth' },
      addr_info: [{ family: 'inet6', local: 'fe80::216:3eff:fe7f:32d1', prefixlen: 64, scope: 'link' }],
      stats64: { rx: { bytes: 10, packets: 1, errors: 2, dropped: 3 }, tx: { bytes: 180, packets: 2, errors: 4, dropped: 5 } },
    },
    { ifindex: 3, ifname: 'eth1', flags: ['BROADCAST'], link_type: 'ether', address: 'aa:bb:cc:dd:ee:ff', link_index: 2, linkinfo: { info_kind: 'macvlan' } },
  ];
  const net = networkState(links, new Map([[8, 'veth8e8fd759']]));
  assert.deepEqual(net['lo'], {
    addresses: [
      { family: 'inet', address: '127.0.0.1', netmask: '8', scope: 'local' },
      { family: 'inet6', address: '::1', netmask: '128', scope: 'local' },
    ],
    counters: { bytes_received: 0, bytes_sent: 0, packets_received: 0, packets_sent: 0, errors_received: 0, errors_sent: 0, packets_dropped_outbound: 0, packets_dropped_inbound: 0 },
    hwaddr: '',
    host_name: '',
    mtu: 65536,
    state: 'up',
    type: 'loopback',
  });
  assert.deepEqual(net['eth0'], {
    addresses: [{ family: 'inet6', address: 'fe80::216:3eff:fe7f:32d1', netmask: '64', scope: 'link' }],
    counters: { bytes_received: 10, bytes_sent: 180, packets_received: 1, packets_sent: 2, errors_received: 2, errors_sent: 4, packets_dropped_outbound: 5, packets_dropped_inbound: 3 },
    hwaddr: '00:16:3e:7f:32:d1',
    host_name: 'veth8e8fd759',
    mtu: 1500,
    state: 'up',
    type: 'broadcast',
  });
  assert.equal(net['eth1']?.state, 'down');
  assert.equal(net['eth1']?.host_name, '');
  assert.deepEqual(net['eth1']?.addresses, []);
});
