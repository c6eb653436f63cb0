import assert from 'node:assert/strict';
import { test } from 'node:test';
import { validateDirPoolConfig } from './storage-pool-config.js';

test('dir pool config accepts the documented keys and user keys', () => {
  validateDirPoolConfig({
    source: '/srv/pool',
    'volatile.initial_source': '/srv/pool',
    'rsync.bwlimit': '10MiB',
    'rsync.compression': 'false',
    'volume.security.shifted': 'true',
    'volume.security.unmapped': 'no',
    'volume.size': '10GiB',
    'volume.snapshots.expiry': '1d 2w',
    'volume.snapshots.pattern': 'snap%d',
    'volume.snapshots.schedule': '0 6 * * *, @daily',
    'user.anything': 'goes',
  });
});

test('dir pool config refuses unknown keys and bad values', () => {
  assert.throws(() => validateDirPoolConfig({ 'btrfs.mount_options': 'x' }), /Invalid option "btrfs.mount_options"/);
  assert.throws(() => validateDirPoolConfig({ 'volume.size': 'big' }), /Invalid value for option "volume.size"/);
  assert.throws(() => validateDirPoolConfig({ 'volume.snapshots.schedule': 'every day' }), /schedule/);
  assert.throws(() => validateDirPoolConfig({ 'volume.snapshots.expiry': '3 days' }), /expiry/);
  assert.throws(() => validateDirPoolConfig({ 'volume.security.shifted': 'sure' }), /boolean/);
});
