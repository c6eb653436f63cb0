import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Devices } from '@lxdts/api-types';
import { ApiError } from '../http/api-error.js';
import { expandConfig, expandDevices, lxcNameOf, rootDisk, validateInstanceName } from './instance-expansion.js';

test('profiles apply in order, the instance wins', () => {
  const profiles: { config: Record<string, string>; devices: Devices }[] = [
    { config: { 'limits.cpu': '1', 'user.a': 'p1' }, devices: { root: { type: 'disk', path: '/', pool: 'p1' } } },
    { config: { 'user.a': 'p2' }, devices: { eth0: { type: 'nic', nictype: 'p2p', name: 'eth0' } } },
  ];
  assert.deepEqual(expandConfig(profiles, { 'limits.cpu': '2' }), { 'limits.cpu': '2', 'user.a': 'p2' });
  const devices = expandDevices(profiles, { root: { type: 'disk', path: '/', pool: 'local' } });
  assert.deepEqual(Object.keys(devices), ['eth0', 'root']);
  assert.deepEqual(rootDisk(devices), { name: 'root', pool: 'local' });
  assert.equal(rootDisk({ eth0: { type: 'nic' } }), undefined);
});

test('instance names follow host name rules', () => {
  for (const ok of ['c1', 'web-01', 'A']) validateInstanceName(ok);
  for (const bad of ['', '1abc', '-a', 'a-', 'a_b', 'a/b', 'a.b', '..', 'x'.repeat(64), 'a\u0001']) {
    assert.throws(() => validateInstanceName(bad), (e: unknown) => e instanceof ApiError && e.status === 400, bad);
  }
  assert.equal(lxcNameOf('default', 'c1'), 'c1');
  assert.equal(lxcNameOf('p', 'c1'), 'p_c1');
});
