import assert from 'node:assert/strict';
import { test } from 'node:test';
import { backupCompression, parseIndex } from './instance-backups.service.js';

test('backup index.yaml: the instance, its snapshots in order, LXD-made fields tolerated; bad ones refused', () => {
  const plan = parseIndex(`name: c1
backend: dir
pool: default
snapshots:
- s0
optimized: false
type: container
config:
  container:
    architecture: x86_64
    config: { user.a: "1", limits.cpu: 2 }
    devices: { root: { type: disk, path: /, pool: default } }
    ephemeral: false
    profiles: [default]
    status: Running
  snapshots:
  - name: s0
    created_at: 2026-12-03T20:22:20.989892727Z
    expires_at: 0001-01-01T00:00:00Z
    config: { user.a: "0" }
    devices: {}
`);
  assert.equal(plan.name, 'c1');
  assert.deepEqual(plan.config, { 'user.a': '1', 'limits.cpu': '2' });
  assert.deepEqual(plan.profiles, ['default']);
  assert.deepEqual(plan.snapshots.map((s) => [s.name, s.expiresAt, s.config['user.a']]), [['s0', null, '0']]);
  assert.throws(() => parseIndex('name: x\n'), /no instance/);
  assert.throws(() => parseIndex('name: x\ntype: virtual-machine\nconfig: { container: {} }\n'), /not supported/);
  assert.equal(parseIndex('name: x\noptimized: true\nconfig: { container: {} }\n').optimized, true, 'optimized backups are read (and go to btrfs pools only)');
  assert.equal(backupCompression('', undefined, undefined), 'gzip');
  assert.equal(backupCompression('', 'xz', 'zstd'), 'xz');
  assert.throws(() => backupCompression('rar', undefined, undefined), /Unsupported compression/);
});
