import assert from 'node:assert/strict';
import { test } from 'node:test';
import { validatePoolConfig } from './storage-pool-config.js';

test('dir pool config accepts the documented keys and user keys', () => {
  validatePoolConfig('dir', {
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
  assert.throws(() => validatePoolConfig('dir', { 'btrfs.mount_options': 'x' }), /Invalid option "btrfs.mount_options"/);
  assert.throws(() => validatePoolConfig('dir', { 'volume.size': 'big' }), /Invalid value for option "volume.size"/);
  assert.throws(() => validatePoolConfig('dir', { 'volume.snapshots.schedule': 'every day' }), /schedule/);
  assert.throws(() => validatePoolConfig('dir', { 'volume.snapshots.expiry': '3 days' }), /expiry/);
  assert.throws(() => validatePoolConfig('dir', { 'volume.security.shifted': 'sure' }), /boolean/);
});

test('btrfs pools take size and btrfs.mount_options besides the dir keys', () => {
  validatePoolConfig('btrfs', { size: '2GiB', 'btrfs.mount_options': 'user_subvol_rm_allowed,compress=zstd', 'volume.size': '1GiB' });
  assert.throws(() => validatePoolConfig('btrfs', { size: 'huge' }), /Invalid value for option "size"/);
  assert.throws(() => validatePoolConfig('btrfs', { 'btrfs.mount_options': 'a b' }), /mount options/);
  assert.throws(() => validatePoolConfig('dir', { size: '1GiB' }), /Invalid option "size"/);
});
