import { test } from 'node:test';
import assert from 'node:assert/strict';
import { restrictionProblem } from './project-restrictions.js';

const profile = (config: Record<string, string>, devices: Record<string, Record<string, string>> = {}) => ({
  kind: 'profile' as const,
  name: 'p1',
  config,
  devices,
});

test('restrictions only apply to restricted projects', () => {
  assert.equal(restrictionProblem('r', {}, profile({ 'security.privileged': 'true' })), null);
  assert.match(restrictionProblem('r', { restricted: 'true' }, profile({ 'security.privileged': 'true' }))!, /Privileged containers are forbidden/);
  assert.equal(restrictionProblem('r', { restricted: 'true', 'restricted.containers.privilege': 'allow' }, profile({ 'security.privileged': 'true' })), null);
});

test('low-level keys need both container and VM low-level access on profiles', () => {
  const cfg = { restricted: 'true', 'restricted.containers.lowlevel': 'allow' };
  assert.match(restrictionProblem('r', cfg, profile({ 'raw.idmap': 'both 1000 1000' }))!, /Use of low-level config "raw.idmap" on profile "p1" of project "r" is forbidden/);
  assert.equal(restrictionProblem('r', { ...cfg, 'restricted.virtual-machines.lowlevel': 'allow' }, profile({ 'raw.idmap': 'x' })), null);
});

test('device restrictions', () => {
  const r = { restricted: 'true' };
  assert.match(restrictionProblem('r', r, profile({}, { u: { type: 'usb' } }))!, /Invalid device "u" on profile "p1" of project "r": USB devices are forbidden/);
  assert.match(restrictionProblem('r', r, profile({}, { e: { type: 'nic', nictype: 'p2p' } }))!, /Only managed network devices are allowed/);
  assert.equal(restrictionProblem('r', r, profile({}, { e: { type: 'nic', network: 'br0' } })), null);
  assert.match(restrictionProblem('r', { ...r, 'restricted.networks.access': 'br1' }, profile({}, { e: { type: 'nic', network: 'br0' } }))!, /Network not allowed/);
  assert.equal(restrictionProblem('r', r, profile({}, { root: { type: 'disk', path: '/', pool: 'default' } })), null);
  assert.match(restrictionProblem('r', r, profile({}, { d: { type: 'disk', source: '/srv', path: '/mnt' } }))!, /not backed by a pool/);
  const allow = { ...r, 'restricted.devices.disk': 'allow', 'restricted.devices.disk.paths': '/srv' };
  assert.equal(restrictionProblem('r', allow, profile({}, { d: { type: 'disk', source: '/srv/a', path: '/mnt' } })), null);
  assert.match(restrictionProblem('r', allow, profile({}, { d: { type: 'disk', source: '/srvx', path: '/mnt' } }))!, /Disk source path "\/srvx" not allowed/);
});
