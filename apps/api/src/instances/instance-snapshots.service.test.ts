import assert from 'node:assert/strict';
import { test } from 'node:test';
import { nextSnapshotName, validateSnapshotName } from './instance-snapshots.service.js';

test('snapshot names: next from the pattern, as LXD counts; invalid names refused', () => {
  assert.equal(nextSnapshotName('snap%d', []), 'snap0');
  assert.equal(nextSnapshotName('snap%d', ['snap0', 'snap3', 'other', 'snapx']), 'snap4');
  assert.equal(nextSnapshotName('backup-%d-x', ['backup-7-x']), 'backup-8-x');
  assert.equal(nextSnapshotName('fixed', ['a']), 'fixed');
  assert.throws(() => validateSnapshotName('a/b'), /may not contain slashes/);
  assert.throws(() => validateSnapshotName('..'), /Invalid snapshot name/);
  assert.throws(() => validateSnapshotName('with space'), /Invalid snapshot name/);
  validateSnapshotName('snap0');
});
