import assert from 'node:assert/strict';
import { test } from 'node:test';
import { contentDisposition, fileHeaders, goUtcTime, parseMode, parsePushHeaders, symlinkTargetPath } from './file-headers.js';

test('X-LXD-mode is read as LXD 5.0.2 does (Atoi, then ParseInt base 0, masked to 0777)', () => {
  const cases: [string, number][] = [
    ['0640', 0o640],
    ['0755', 0o755],
    ['04755', 0o755],
    ['640', 640 & 0o777],
    ['0', 0],
    ['+0600', 0o600],
    ['0648', 648 & 0o777],
    ['-1', 0o777],
    ['', -1],
    ['0o640', -1],
    ['0x1a4', -1],
    ['rwx', -1],
    [' 0640', -1],
  ];
  for (const [s, want] of cases) assert.equal(parseMode(s), want, JSON.stringify(s));
});

test('push headers: LXD defaults, unreadable ids are unset, impossible ones refused', () => {
  assert.deepEqual(parsePushHeaders({}), { uid: -1, gid: -1, mode: -1, type: 'file', write: 'overwrite' });
  assert.deepEqual(
    parsePushHeaders({ 'x-lxd-uid': '1000', 'x-lxd-gid': '1001', 'x-lxd-mode': '0600', 'x-lxd-type': 'directory', 'x-lxd-write': 'append' }),
    { uid: 1000, gid: 1001, mode: 0o600, type: 'directory', write: 'append' },
  );
  assert.deepEqual(parsePushHeaders({ 'x-lxd-uid': 'root', 'x-lxd-gid': '-5' }), { uid: -1, gid: -1, mode: -1, type: 'file', write: 'overwrite' });
  assert.deepEqual(parsePushHeaders({ 'x-lxd-uid': ['7', '8'] }), { uid: 7, gid: -1, mode: -1, type: 'file', write: 'overwrite' });
  assert.equal(String(parsePushHeaders({ 'x-lxd-uid': '4294967295' })), 'Error: Invalid uid "4294967295"');
  // Past int64, ParseInt fails: unset, as LXD.
  assert.equal((parsePushHeaders({ 'x-lxd-gid': '99999999999999999999' }) as { gid: number }).gid, -1);
});

test('GET headers: as the 5.0.2 wire shows them', () => {
  const h = fileHeaders({ type: 'file', uid: 0, gid: 0, mode: 0o4640, size: 11, mtime: Date.UTC(2026, 11, 3, 12, 26, 46) / 1000 });
  assert.deepEqual(h, {
    'X-Lxd-Uid': '0',
    'X-Lxd-Gid': '0',
    'X-Lxd-Mode': '0640',
    'X-Lxd-Modified': '2026-12-03 12:26:46 +0000 UTC',
    'X-Lxd-Type': 'file',
  });
  assert.equal(fileHeaders({ type: 'other', uid: 0, gid: 0, mode: 0o644, size: 0, mtime: 0 })['X-Lxd-Type'], 'file');
  assert.equal(fileHeaders({ type: 'symlink', uid: 0, gid: 0, mode: 0o777, size: 3, mtime: 0 })['X-Lxd-Mode'], '0777');
  assert.equal(goUtcTime(0), '1970-01-01 00:00:00 +0000 UTC');
  assert.equal(contentDisposition('/root/f.txt'), 'inline;filename=f.txt');
  assert.equal(contentDisposition('/'), 'inline;filename=/');
  assert.equal(contentDisposition('/root/été\n'), `inline;filename=${encodeURIComponent('été\n')}`);
});

test('a symlink GET answers its target as an absolute, clean path', () => {
  assert.equal(symlinkTargetPath('/root/link', '../etc/./hostname'), '/etc/hostname');
  assert.equal(symlinkTargetPath('/root/link', '/etc//passwd/'), '/etc/passwd');
  assert.equal(symlinkTargetPath('/link', '../../../x'), '/x');
  assert.equal(symlinkTargetPath('/a/b/link', 'c'), '/a/b/c');
  assert.equal(symlinkTargetPath('/a/link', '..'), '/');
});
