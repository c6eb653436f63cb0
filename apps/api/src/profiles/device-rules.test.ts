import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DeviceConfig } from './device-options.js';
import { profileDevicesProblem } from './device-rules.js';

const ctx = { pools: new Set(['default']), networks: new Map([['lxdbr0', 'bridge'], ['phys', 'physical']]), networkProject: 'default' };
const check = (devices: Record<string, DeviceConfig>): string | null => profileDevicesProblem(devices, ctx);

test('valid devices of every type pass', () => {
  assert.equal(
    check({
      root: { type: 'disk', path: '/', pool: 'default', size: '10GiB' },
      data: { type: 'disk', source: '/srv', path: '/mnt/srv', readonly: 'true' },
      vol: { type: 'disk', pool: 'default', source: 'vol1', path: '/vol' },
      eth0: { type: 'nic', network: 'lxdbr0', name: 'eth0' },
      eth1: { type: 'nic', nictype: 'p2p', name: 'eth1', 'user.note': 'x' },
      eth2: { type: 'nic', nictype: 'macvlan', parent: 'enp5s0', mtu: '1500' },
      tty: { type: 'unix-char', path: '/dev/ttyS0' },
      usb: { type: 'usb', vendorid: '1d6b' },
      gpu: { type: 'gpu', pci: '0000:01:00.0' },
      ib: { type: 'infiniband', nictype: 'physical', parent: 'ib0' },
      web: { type: 'proxy', listen: 'tcp:0.0.0.0:80', connect: 'tcp:127.0.0.1:80' },
      hp: { type: 'unix-hotplug', vendorid: '1d6b' },
      tpm: { type: 'tpm', path: '/dev/tpm0', pathrm: '/dev/tpmrm0' },
      pci: { type: 'pci', address: '0000:02:00.0' },
      nothing: { type: 'none' },
    }),
    null,
  );
});

test('device types and names', () => {
  assert.equal(check({ x: { type: 'bogus' } }), 'Device validation failed for "x": Failed loading device "x": Unsupported device type');
  assert.equal(check({ x: {} }), 'Device validation failed for "x": Failed loading device "x": Missing device type in config');
  assert.match(check({ 'a b': { type: 'none' } })!, /Name can only contain alphanumeric/);
  assert.match(check({ '.x': { type: 'none' } })!, /must not start with "."/);
  assert.equal(check({ ['n'.repeat(65)]: { type: 'none' } }), 'The maximum device name length is 64 characters');
  assert.equal(check({ x: { type: 'none', foo: 'bar' } }), 'Device validation failed for "x": Invalid device option "foo"');
});

test('disk rules', () => {
  assert.match(check({ d: { type: 'disk', path: '/mnt' } })!, /missing the required "source" or "path" property/);
  assert.match(check({ d: { type: 'disk' } })!, /missing the required "source" or "path" property/);
  assert.equal(check({ d: { type: 'disk', source: '/dev/sdb' } }), null);
  assert.match(check({ root: { type: 'disk', path: '/' } })!, /Root disk entry must have a "pool" property set/);
  assert.equal(
    check({ root: { type: 'disk', path: '/', pool: 'nope' } }),
    'Device validation failed for "root": Failed loading storage pool "nope": Storage pool not found',
  );
  assert.match(check({ d: { type: 'disk', source: '/srv', path: '/m', size: '1GB' } })!, /Only the root disk may have a size quota/);
  assert.match(check({ d: { type: 'disk', source: 'srv', path: '/m' } })!, /Source path must be absolute/);
  assert.match(
    check({ a: { type: 'disk', source: '/a', path: '/m' }, b: { type: 'disk', source: '/b', path: '/m' } })!,
    /More than one disk device uses the same path "\/m"/,
  );
  assert.match(check({ d: { type: 'disk', source: '/srv', path: '/m', readonly: 'maybe' } })!, /Invalid value for device option "readonly"/);
});

test('nic rules', () => {
  assert.match(check({ e: { type: 'nic' } })!, /Unsupported device type/);
  assert.match(check({ e: { type: 'nic', network: 'missing' } })!, /Failed to load network "missing" for project "default": Network not found/);
  assert.match(check({ e: { type: 'nic', network: 'phys' } })!, /Unrecognised NIC network type for network "phys"/);
  assert.match(check({ e: { type: 'nic', network: 'lxdbr0', nictype: 'bridged' } })!, /Cannot use "nictype" property in conjunction with "network" property/);
  assert.match(check({ e: { type: 'nic', nictype: 'bridged' } })!, /Invalid value for device option "parent": Required value/);
  assert.match(check({ e: { type: 'nic', nictype: 'p2p', parent: 'x' } })!, /Invalid device option "parent"/);
  assert.match(check({ e: { type: 'nic', nictype: 'p2p', hwaddr: 'zz' } })!, /Invalid MAC address/);
  assert.match(check({ e: { type: 'nic', nictype: 'p2p', mtu: '10' } })!, /Out of MTU range/);
});

test('other device rules', () => {
  assert.match(check({ u: { type: 'unix-char' } })!, /Unix device entry is missing the required "source" or "path" property/);
  assert.match(check({ u: { type: 'unix-block', path: '/dev/sda', mode: '999' } })!, /Invalid value for an octal file mode/);
  assert.match(check({ p: { type: 'proxy', listen: 'tcp:1.2.3.4:80' } })!, /Invalid value for device option "connect": Required value/);
  assert.match(check({ p: { type: 'proxy', listen: 'sctp:1:1', connect: 'tcp:1:1' } })!, /Unknown protocol type "sctp"/);
  assert.match(check({ h: { type: 'unix-hotplug' } })!, /require a vendorid or a productid/);
  assert.match(check({ g: { type: 'gpu', pci: '0000:01:00.0', id: '0' } })!, /Cannot use "id" when when "pci" is set/);
  assert.match(check({ p: { type: 'pci', address: 'x' } })!, /Failed to validate config: Invalid value for device option "address": Invalid PCI address/);
});
