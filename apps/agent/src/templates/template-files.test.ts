import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { ContainerPathError, ContainerRoot, type ResolveOptions } from '../files/container-root.js';
import { readInRoot, writeInRootfs } from './template-files.js';

const root = process.getuid?.() === 0;

/** Where `path` leads under the 'refuse' policy, as the rootfs-relative path of the final entry (or an error code). */
async function where(rootfs: string, path: string, options: ResolveOptions = {}): Promise<string> {
  const root = await ContainerRoot.open(rootfs);
  try {
    const r = await root.resolve(path, { followFinal: true, dotdot: 'refuse', ...options });
    try {
      const dir = readlinkSync(`/proc/self/fd/${r.dir.fd}`);
      const full = r.name === null ? dir : join(dir, r.name);
      return `${full === rootfs ? '/' : full.slice(rootfs.length)}${r.stat ? '' : ' (missing)'}`;
    } finally {
      await r.release();
    }
  } catch (err) {
    if (err instanceof ContainerPathError) return err.code;
    throw err;
  } finally {
    await root.close();
  }
}

describe('template targets and files inside a root (the refuse policy)', () => {
  let dir = '';
  let rootfs = '';
  let outside = '';

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'lxdts-template-files-'));
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

  test('plain paths, absolute or relative, and the root itself', async () => {
    assert.equal(await where(rootfs, '/etc/hostname'), '/etc/hostname');
    assert.equal(await where(rootfs, 'etc//./hostname'), '/etc/hostname');
    assert.equal(await where(rootfs, '/etc/sub/../hostname'), '/etc/hostname');
    assert.equal(await where(rootfs, '/'), '/');
    assert.equal(await where(rootfs, '/etc/missing'), '/etc/missing (missing)');
  });

  test('absolute symlinks are resolved from the rootfs, not the host', async () => {
    assert.equal(await where(rootfs, '/etc/abs-link'), '/run/real (missing)'); // dangling inside: writing creates /run/real
    // The host path the link names does not exist inside the container.
    assert.equal(await where(rootfs, '/etc/escape-abs'), 'ENOENT');
    assert.equal(await where(rootfs, '/etc/hostname-link'), '/etc/hostname');
    assert.equal(await where(rootfs, '/etc/rel-link/x'), '/run/x (missing)');
  });

  test('links and .. that climb above the root are refused (the file API clamps them instead)', async () => {
    for (const p of ['/etc/escape-rel', '/../outside/secret', '/etc/../../outside']) assert.equal(await where(rootfs, p), 'ESCAPE', p);
    assert.equal(await where(rootfs, '/../etc/hostname', { dotdot: 'clamp' }), '/etc/hostname');
  });

  test('loops, non-directories and missing parents', async () => {
    assert.equal(await where(rootfs, '/etc/loop1'), 'ELOOP');
    assert.equal(await where(rootfs, '/etc/file/x'), 'ENOTDIR');
    assert.equal(await where(rootfs, '/nope/x'), 'ENOENT');
    assert.equal(await where(rootfs, '/etc/hostname-link', { followFinal: false }), '/etc/hostname-link');
  });

  test('writes: existing files rewritten in place (mode kept), new files 0644, parents created, create_only', async () => {
    assert.equal(await writeInRootfs(rootfs, '/etc/hostname', 'c1\n'), 'replaced');
    assert.equal(readFileSync(join(rootfs, 'etc/hostname'), 'utf8'), 'c1\n');
    assert.equal(statSync(join(rootfs, 'etc/hostname')).mode & 0o777, 0o600);

    assert.equal(await writeInRootfs(rootfs, '/new/dir/file.conf', 'hello'), 'created');
    assert.equal(statSync(join(rootfs, 'new/dir/file.conf')).mode & 0o777, 0o644);
    assert.equal(statSync(join(rootfs, 'new/dir')).mode & 0o777, 0o755);
    if (root) assert.equal(statSync(join(rootfs, 'new/dir/file.conf')).uid, 0);

    assert.equal(await writeInRootfs(rootfs, '/etc/hostname', 'other', { createOnly: true }), 'skipped');
    assert.equal(readFileSync(join(rootfs, 'etc/hostname'), 'utf8'), 'c1\n');
    assert.equal(await writeInRootfs(rootfs, '/etc/only-once', 'first', { createOnly: true }), 'created');
  });

  test('writes follow links inside the container and never reach the host', async () => {
    await writeInRootfs(rootfs, '/etc/escape-abs', 'contained');
    assert.equal(readFileSync(join(outside, 'secret'), 'utf8'), 'host secret\n');
    assert.equal(readFileSync(join(rootfs, outside, 'secret'), 'utf8'), 'contained');
    await writeInRootfs(rootfs, '/hostdir/secret', 'contained too');
    assert.equal(readFileSync(join(outside, 'secret'), 'utf8'), 'host secret\n');
    await assert.rejects(writeInRootfs(rootfs, '/etc/escape-rel', 'x'), /outside of the root file system/);
    assert.equal(readFileSync(join(outside, 'secret'), 'utf8'), 'host secret\n');
    await writeInRootfs(rootfs, '/etc/abs-link', 'through the link');
    assert.equal(readFileSync(join(rootfs, 'run/real'), 'utf8'), 'through the link');
    await assert.rejects(writeInRootfs(rootfs, '/etc', 'x'), /is a directory/);
    await assert.rejects(writeInRootfs(rootfs, '/', 'x'), /is a directory/);
  });

  test('special files are not written (a FIFO would block the agent)', { skip: spawnSync('mkfifo', ['--version']).status !== 0 && 'no mkfifo' }, async () => {
    spawnSync('mkfifo', [join(rootfs, 'etc/fifo')]);
    await assert.rejects(writeInRootfs(rootfs, '/etc/fifo', 'x'), /not a regular file/);
    await assert.rejects(readInRoot(rootfs, '/etc/fifo'), /not a regular file/);
  });

  test('reading a template inside its folder: links stay inside', async () => {
    assert.equal(await readInRoot(rootfs, 'etc/hostname-link'), 'c1\n');
    await assert.rejects(readInRoot(rootfs, 'etc/escape-rel'), /outside/);
    await assert.rejects(readInRoot(rootfs, 'etc/missing'), /no such file/);
    assert.ok(!existsSync(join(rootfs, 'etc/missing')));
  });
});
