import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type FixtureEntry, fixtureTree } from '../resources/fixture-tree.js';
import { HostInterfacesReader } from './host-interfaces.reader.js';
import { InterfaceStateReader } from './interface-state.reader.js';

const net = (name: string, files: Record<string, FixtureEntry>): Record<string, FixtureEntry> =>
  Object.fromEntries(Object.entries(files).map(([k, v]) => [`sys/class/net/${name}/${k}`, v]));

function hostFixture(): Record<string, FixtureEntry> {
  return {
    ...net('lo', { ifindex: '1', flags: '0x9', address: '00:00:00:00:00:00', mtu: '65536', 'statistics/rx_bytes': '10', 'statistics/tx_bytes': '10', 'statistics/rx_packets': '1', 'statistics/tx_packets': '1' }),
    ...net('eth0', { ifindex: '4', flags: '0x1003', address: '02:fc:00:00:00:01', mtu: '1400', device: { link: '../../../devices/virtio2' } }),
    ...net('br0', {
      ifindex: '6', flags: '0x1003', address: '00:16:3e:c2:66:2c', mtu: '1500',
      'bridge/bridge_id': '8000.00163ec2662c', 'bridge/stp_state': '0', 'bridge/forward_delay': '1500',
      'bridge/vlan_filtering': '1', 'bridge/default_pvid': '1',
      'brif/veth1': { dir: true }, 'brif/eth1': { dir: true },
    }),
    ...net('bond0', {
      ifindex: '7', flags: '0x1002', address: '02:00:00:00:00:07', mtu: '1500',
      'bonding/mode': '802.3ad 4', 'bonding/xmit_hash_policy': 'layer3+4 1', 'bonding/miimon': '100',
      'bonding/updelay': '0', 'bonding/downdelay': '0', 'bonding/mii_status': 'up', 'bonding/slaves': 'eth2 eth3',
    }),
    ...net('eth0.100', { ifindex: '8', flags: '0x1003', address: '02:fc:00:00:00:01', mtu: '1400' }),
    'proc/net/vlan/eth0.100': 'eth0.100  VID: 100\t REORDER_HDR: 1  dev->priv_flags: 1001\nDevice: eth0\n',
    ...net('ifb0', { ifindex: '2', flags: '0x82', address: 'da:c7:63:4b:72:c3', mtu: '1500' }),
    ...net('tun0', { ifindex: '9', flags: '0x10d1', mtu: '1500' }),
    'sys/devices/virtio2': { dir: true },
  };
}

test('host interfaces are listed in ifindex order with LXD types', () => {
  const tree = fixtureTree(hostFixture());
  try {
    const reader = new HostInterfacesReader(tree.root);
    assert.deepEqual(
      reader.list().map((i) => [i.name, i.type]),
      [['lo', 'loopback'], ['ifb0', 'unknown'], ['eth0', 'physical'], ['br0', 'bridge'], ['bond0', 'bond'], ['eth0.100', 'vlan'], ['tun0', 'unknown']],
    );
    assert.equal(reader.exists('eth0'), true);
    assert.equal(reader.exists('nope'), false);
    assert.equal(reader.exists('../lo'), false);
  } finally {
    tree.remove();
  }
});

test('interface state: loopback with addresses from the address source', () => {
  const tree = fixtureTree(hostFixture());
  try {
    const reader = new InterfaceStateReader(tree.root, () => ({
      lo: [
        { address: '127.0.0.1', netmask: '255.0.0.0', family: 'IPv4', mac: '00:00:00:00:00:00', internal: true, cidr: '127.0.0.1/8' },
        { address: '::1', netmask: 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', family: 'IPv6', mac: '00:00:00:00:00:00', internal: true, cidr: '::1/128', scopeid: 0 },
      ],
      eth0: [
        { address: '192.0.2.2', netmask: '255.255.255.0', family: 'IPv4', mac: '02:fc:00:00:00:01', internal: false, cidr: '192.0.2.2/24' },
        { address: 'fe80::fc:ff:fe00:1', netmask: 'ffff:ffff:ffff:ffff::', family: 'IPv6', mac: '02:fc:00:00:00:01', internal: false, cidr: 'fe80::fc:ff:fe00:1/64', scopeid: 4 },
      ],
    }));
    assert.deepEqual(reader.read('lo'), {
      addresses: [
        { family: 'inet', address: '127.0.0.1', netmask: '8', scope: 'local' },
        { family: 'inet6', address: '::1', netmask: '128', scope: 'local' },
      ],
      counters: { bytes_received: 10, bytes_sent: 10, packets_received: 1, packets_sent: 1 },
      hwaddr: '',
      mtu: 65536,
      state: 'up',
      type: 'loopback',
      bond: null,
      bridge: null,
      vlan: null,
      ovn: null,
    });
    const eth0 = reader.read('eth0')!;
    assert.deepEqual(eth0.addresses.map((a) => a.scope), ['global', 'link']);
    assert.equal(eth0.type, 'broadcast');
    assert.equal(eth0.hwaddr, '02:fc:00:00:00:01');
    assert.equal(reader.read('nope'), undefined);
  } finally {
    tree.remove();
  }
});

test('interface state: bridge, bond, vlan and point-to-point details', () => {
  const tree = fixtureTree(hostFixture());
  try {
    const reader = new InterfaceStateReader(tree.root, () => ({}));
    assert.deepEqual(reader.read('br0')!.bridge, {
      id: '8000.00163ec2662c', stp: false, forward_delay: 1500, vlan_default: 1, vlan_filtering: true, upper_devices: ['eth1', 'veth1'],
    });
    const bond = reader.read('bond0')!;
    assert.equal(bond.state, 'down');
    assert.deepEqual(bond.bond, {
      mode: '802.3ad', transmit_policy: 'layer3+4', up_delay: 0, down_delay: 0, mii_frequency: 100, mii_state: 'up', lower_devices: ['eth2', 'eth3'],
    });
    assert.deepEqual(reader.read('eth0.100')!.vlan, { lower_device: 'eth0', vid: 100 });
    const tun = reader.read('tun0')!;
    assert.equal(tun.type, 'point-to-point');
    assert.equal(tun.hwaddr, '');
  } finally {
    tree.remove();
  }
});
