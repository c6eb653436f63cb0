import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { RootfsPathError, readInRoot, resolveInRoot, writeInRootfs } from './rootfs-path.js';

const root = process.getuid?.() === 0;

describe('paths inside a rootfs', () => {
  let dir = '';
  let rootfs = '';
  let outside = '';

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'lxdts-rootfs-path-'));
    rootfs = join(dir, 'rootfs');
    outside = join(dir, 'outside');
    mkdirSync(outside);
    writeFileSync(join(outside, 'secret'), 'host secret\n');
    mkdirSync(join(rootfs, 'etc/sub'), { recursive: true });
    mkdirSync(join(rootfs, 'run'), { recursive: true });
    writeFileSync(join(rootfs, 'etc/hostname'), 'image\n', { mode: 0o600 });
    symlinkSync('/run/real', join(rootfs, 'etc/abs-link')); // absolute: the container's /run/real
    symlinkSync('../run', join(rootfs, 'etc/rel-link')); // relative, stays inside
    symlinkSync('../../../outside/secret', join(rootfs, 'etc/escape-rel')); // climbs above the rootfs
    symlinkSync(join(outside, 'secret'), join(rootfs, 'etc/escape-abs')); // host path: read as a container path
    symlinkSync(outside, join(rootfs, 'hostdir')); // a directory link to a host path
    symlinkSync('loop2', join(rootfs, 'etc/loop1'));
    symlinkSync('loop1', join(rootfs, 'etc/loop2'));
    symlinkSync('/etc/hostname', join(rootfs, 'etc/hostname-link'));
    writeFileSync(join(rootfs, 'etc/file'), 'x');
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('plain paths, absolute or relative, and the root itself', () => {
    assert.equal(resolveInRoot(rootfs, '/etc/hostname').hostPath, join(rootfs, 'etc/hostname'));
    assert.equal(resolveInRoot(rootfs, 'etc//./hostname').hostPath, join(rootfs, 'etc/hostname'));
    assert.equal(resolveInRoot(rootfs, '/etc/sub/../hostname').hostPath, join(rootfs, 'etc/hostname'));
    assert.equal(resolveInRoot(rootfs, '/').hostPath, rootfs);
    assert.equal(resolveInRoot(rootfs, '/etc/missing').stat, null);
  });

  test('absolute symlinks are resolved from the rootfs, not the host', () => {
    const r = resolveInRoot(rootfs, '/etc/abs-link');
    assert.equal(r.hostPath, join(rootfs, 'run/real'));
    assert.equal(r.stat, null); // dangling inside the container: writing creates /run/real
    // The host path the link names does not exist inside the container.
    assert.throws(() => resolveInRoot(rootfs, '/etc/escape-abs'), (e: unknown) => e instanceof RootfsPathError && e.code === 'ENOENT');
    assert.equal(resolveInRoot(rootfs, '/etc/escape-abs', { createParents: true }).hostPath, join(rootfs, outside, 'secret'));
    assert.equal(resolveInRoot(rootfs, '/etc/hostname-link').hostPath, join(rootfs, 'etc/hostname'));
    assert.equal(resolveInRoot(rootfs, '/etc/rel-link/x').hostPath, join(rootfs, 'run/x'));
  });

  test('links and .. that climb above the rootfs are refused', () => {
    const escape = (p: string) => assert.throws(() => resolveInRoot(rootfs, p), (e: unknown) => e instanceof RootfsPathError && e.code === 'ESCAPE');
    escape('/etc/escape-rel');
    escape('/../outside/secret');
    escape('/etc/../../outside');
  });

  test('loops, non-directories and missing parents', () => {
    assert.throws(() => resolveInRoot(rootfs, '/etc/loop1'), (e: unknown) => e instanceof RootfsPathError && e.code === 'ELOOP');
    assert.throws(() => resolveInRoot(rootfs, '/etc/file/x'), (e: unknown) => e instanceof RootfsPathError && e.code === 'ENOTDIR');
    assert.throws(() => resolveInRoot(rootfs, '/nope/x'), (e: unknown) => e instanceof RootfsPathError && e.code === 'ENOENT');
    assert.equal(resolveInRoot(rootfs, '/etc/hostname-link', { followFinal: false }).hostPath, join(rootfs, 'etc/hostname-link'));
  });

  test('writes: existing files rewritten in place (mode kept), new files 0644, parents created, create_only', () => {
    assert.equal(writeInRootfs(rootfs, '/etc/hostname', 'c1\n'), 'replaced');
    assert.equal(readFileSync(join(rootfs, 'etc/hostname'), 'utf8'), 'c1\n');
    assert.equal(statSync(join(rootfs, 'etc/hostname')).mode & 0o777, 0o600);

    assert.equal(writeInRootfs(rootfs, '/new/dir/file.conf', 'hello'), 'created');
    assert.equal(statSync(join(rootfs, 'new/dir/file.conf')).mode & 0o777, 0o644);
    assert.equal(statSync(join(rootfs, 'new/dir')).mode & 0o777, 0o755);
    if (root) assert.equal(statSync(join(rootfs, 'new/dir/file.conf')).uid, 0);

    assert.equal(writeInRootfs(rootfs, '/etc/hostname', 'other', { createOnly: true }), 'skipped');
    assert.equal(readFileSync(join(rootfs, 'etc/hostname'), 'utf8'), 'c1\n');
    assert.equal(writeInRootfs(rootfs, '/etc/only-once', 'first', { createOnly: true }), 'created');
  });

  test('writes follow links inside the container and never reach the host', () => {
    writeInRootfs(rootfs, '/etc/escape-abs', 'contained');
    assert.equal(readFileSync(join(outside, 'secret'), 'utf8'), 'host secret\n');
    assert.equal(readFileSync(join(rootfs, outside, 'secret'), 'utf8'), 'contained');
    writeInRootfs(rootfs, '/hostdir/secret', 'contained too');
    assert.equal(readFileSync(join(outside, 'secret'), 'utf8'), 'host secret\n');
    assert.throws(() => writeInRootfs(rootfs, '/etc/escape-rel', 'x'), /outside of the root file system/);
    assert.equal(readFileSync(join(outside, 'secret'), 'utf8'), 'host secret\n');
    writeInRootfs(rootfs, '/etc/abs-link', 'through the link');
    assert.equal(readFileSync(join(rootfs, 'run/real'), 'utf8'), 'through the link');
    assert.throws(() => writeInRootfs(rootfs, '/etc', 'x'), /is a directory/);
    assert.throws(() => writeInRootfs(rootfs, '/', 'x'), /is a directory/);
  });

  test('special files are not written (a FIFO would block the agent)', { skip: spawnSync('mkfifo', ['--version']).status !== 0 && 'no mkfifo' }, () => {
    spawnSync('mkfifo', [join(rootfs, 'etc/fifo')]);
    assert.throws(() => writeInRootfs(rootfs, '/etc/fifo', 'x'), /not a regular file/);
    assert.throws(() => readInRoot(rootfs, '/etc/fifo'), /not a regular file/);
  });

  test('reading a template inside its folder: links stay inside', () => {
    assert.equal(readInRoot(rootfs, 'etc/hostname-link'), 'c1\n');
    assert.throws(() => readInRoot(rootfs, 'etc/escape-rel'), /outside/);
    assert.throws(() => readInRoot(rootfs, 'etc/missing'), /no such file/);
    assert.ok(!existsSync(join(rootfs, 'etc/missing')));
  });
});
