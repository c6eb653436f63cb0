// A real btrfs loop pool in a temp dir (root only): subvolumes for images, volumes and snapshots, qgroup quotas,
// the pool's file system made and taken away.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { AgentVolumeRef } from '@lxdts/api-types';
import { silentLogger } from '../log.js';
import { createProcessRunner } from '../process/run.js';
import { createBtrfsPool, deleteBtrfsPool, isMountPoint } from './btrfs-pool.js';
import { BTRFS_HELPER_PATH } from './btrfs-commands.js';
import { BtrfsStorage } from './btrfs.storage.js';

const runner = createProcessRunner(silentLogger);
const usable = process.getuid?.() === 0 && spawnSync('mkfs.btrfs', ['--version']).status === 0;
const isSubvolume = (path: string) => statSync(path).ino === 256;
const subvolumes = (mount: string) =>
  execFileSync('btrfs', ['subvolume', 'list', '-o', mount], { encoding: 'utf8' })
    .split('\n')
    .filter(Boolean)
    .map((l) => l.slice(l.indexOf(' path ') + 6))
    .sort();

// Once through the lxdts-btrfs helper (native/build.sh; skipped when not built) and once through btrfs-progs.
for (const [label, helper] of [
  ['lxdts-btrfs helper', BTRFS_HELPER_PATH],
  ['btrfs-progs', null],
] as const) {
describe(`btrfs storage (${label})`, { skip: (!usable && 'needs root and btrfs-progs') || (helper !== null && !existsSync(helper) && 'helper not built') }, () => {
  let dir = '';
  let mount = '';
  let loop = '';
  const storage = new BtrfsStorage(runner, silentLogger, helper);
  const vol = (name: string): AgentVolumeRef => ({ poolSource: mount, driver: 'btrfs', type: 'containers', name });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lxdts-btrfs-'));
    mount = join(dir, 'storage-pools', 'p');
    loop = join(dir, 'disks', 'p.img');
    const created = await createBtrfsPool(runner, { mountPoint: mount, loopFile: loop, size: 512 * 1024 * 1024 });
    assert.equal(created.source, loop);
    const src = join(dir, 'src');
    mkdirSync(join(src, 'rootfs/etc'), { recursive: true });
    writeFileSync(join(src, 'metadata.yaml'), 'architecture: x86_64\n');
    writeFileSync(join(src, 'rootfs/etc/hostname'), 'image\n');
    execFileSync('tar', ['-czf', join(dir, 'img.tar.gz'), '-C', src, 'metadata.yaml', 'rootfs']);
  });
  after(async () => {
    if (mount && existsSync(mount) && isMountPoint(mount)) await deleteBtrfsPool(runner, { mountPoint: mount, source: loop, owned: loop });
    rmSync(dir, { recursive: true, force: true });
  });

  test('the pool: a mounted btrfs loop file with the dir layout', () => {
    assert.ok(isMountPoint(mount));
    assert.equal(statSync(loop).size, 512 * 1024 * 1024);
    for (const d of ['containers', 'containers-snapshots', 'images', 'custom']) assert.ok(existsSync(join(mount, d)), d);
  });

  test('image, volume, snapshot: subvolumes; a snapshot is read-only; restore brings the content back', async () => {
    const image = await storage.unpackImage({ poolSource: mount, driver: 'btrfs', fingerprint: 'fpa', imageFile: join(dir, 'img.tar.gz') });
    assert.ok(isSubvolume(image.path));
    const v = await storage.createVolume({ volume: vol('c1'), fromImage: { fingerprint: 'fpa' } });
    assert.ok(isSubvolume(v.path));
    assert.equal(readFileSync(join(v.rootfsPath, 'etc/hostname'), 'utf8'), 'image\n');
    writeFileSync(join(v.rootfsPath, 'etc/hostname'), 'c1\n');
    assert.equal(readFileSync(join(image.path, 'rootfs/etc/hostname'), 'utf8'), 'image\n', 'the image is untouched');

    await storage.createSnapshot({ volume: vol('c1'), snapshot: 's1' });
    const snap = join(mount, 'containers-snapshots/c1/s1');
    assert.ok(isSubvolume(snap));
    assert.throws(() => writeFileSync(join(snap, 'rootfs/etc/x'), 'x'), /EROFS/);
    writeFileSync(join(v.rootfsPath, 'etc/hostname'), 'changed\n');
    await storage.restoreSnapshot({ volume: vol('c1'), snapshot: 's1' });
    assert.equal(readFileSync(join(v.rootfsPath, 'etc/hostname'), 'utf8'), 'c1\n');
    assert.ok(isSubvolume(v.path));

    await storage.renameSnapshot({ volume: vol('c1'), snapshot: 's1', newName: 's2' });
    await storage.copyVolume({ volume: vol('c2'), source: vol('c1'), snapshots: ['s2'] });
    assert.ok(isSubvolume(join(mount, 'containers/c2')) && isSubvolume(join(mount, 'containers-snapshots/c2/s2')));
    assert.deepEqual(subvolumes(mount), [
      'containers-snapshots/c1/s2',
      'containers-snapshots/c2/s2',
      'containers/c1',
      'containers/c2',
      'images/fpa',
    ]);

    await storage.renameVolume({ volume: vol('c2'), newName: 'c3' });
    await storage.deleteVolume({ volume: vol('c1') });
    await storage.deleteVolume({ volume: vol('c3') });
    assert.deepEqual(subvolumes(mount), ['images/fpa']);
    assert.ok(!existsSync(join(mount, 'containers-snapshots/c1')));
  });

  test('a volume holding a subvolume of its own is deleted with it', async () => {
    const v = await storage.createVolume({ volume: vol('nest'), fromImage: { fingerprint: 'fpa' } });
    execFileSync('btrfs', ['subvolume', 'create', join(v.rootfsPath, 'inner')]);
    await storage.deleteVolume({ volume: vol('nest') });
    assert.deepEqual(subvolumes(mount), ['images/fpa']);
  });

  test('a root size quota: writing past it fails with EDQUOT; 0 lifts it', async () => {
    const v = await storage.createVolume({ volume: vol('q1'), fromImage: { fingerprint: 'fpa' } });
    await storage.setQuota({ volume: vol('q1'), size: 20 * 1024 * 1024 });
    const dd = spawnSync('dd', ['if=/dev/zero', `of=${join(v.rootfsPath, 'big')}`, 'bs=1M', 'count=40', 'conv=fsync'], { encoding: 'utf8' });
    assert.notEqual(dd.status, 0);
    assert.match(dd.stderr, /Disk quota exceeded/);
    rmSync(join(v.rootfsPath, 'big'));
    execFileSync('sync');
    await storage.setQuota({ volume: vol('q1'), size: 0 });
    const ok = spawnSync('dd', ['if=/dev/zero', `of=${join(v.rootfsPath, 'big')}`, 'bs=1M', 'count=40', 'conv=fsync'], { encoding: 'utf8' });
    assert.equal(ok.status, 0, ok.stderr);
    await storage.deleteVolume({ volume: vol('q1') });
  });

  test('backup export and import: the volume and its snapshots come back as subvolumes', async () => {
    await storage.createVolume({ volume: vol('b1'), fromImage: { fingerprint: 'fpa' } });
    await storage.createSnapshot({ volume: vol('b1'), snapshot: 'snap0' });
    const file = join(dir, 'b1.tar.gz');
    await storage.exportBackup({ volume: vol('b1'), snapshots: ['snap0'], indexYaml: 'name: b1\n', backupYaml: 'container: {}\n', targetFile: file, compression: 'gzip' });
    await storage.importBackup({ volume: vol('b2'), snapshots: ['snap0'], file });
    assert.ok(isSubvolume(join(mount, 'containers/b2')));
    const snap = join(mount, 'containers-snapshots/b2/snap0');
    assert.ok(isSubvolume(snap));
    assert.throws(() => writeFileSync(join(snap, 'x'), 'x'), /EROFS/);
    assert.equal(readFileSync(join(mount, 'containers/b2/rootfs/etc/hostname'), 'utf8'), 'image\n');
    await storage.deleteVolume({ volume: vol('b1') });
    await storage.deleteVolume({ volume: vol('b2') });
    assert.deepEqual(subvolumes(mount), ['images/fpa']);
  });

  test('optimized backup: send streams in LXD\'s layout, owners shifted up on export and back on import', async () => {
    const v = await storage.createVolume({ volume: vol('o1'), fromImage: { fingerprint: 'fpa' } });
    writeFileSync(join(v.rootfsPath, 'owned'), 'x');
    execFileSync('chown', ['1000:1000', join(v.rootfsPath, 'owned')]);
    await storage.createSnapshot({ volume: vol('o1'), snapshot: 's0' });
    writeFileSync(join(v.rootfsPath, 'later'), 'y');
    const file = join(dir, 'o1-opt.tar.gz');
    const shift = { uid: 1000000, gid: 1000000, range: 65536 };
    await storage.exportBackup({ volume: vol('o1'), snapshots: ['s0'], indexYaml: 'name: o1\noptimized: true\n', backupYaml: 'container: {}\n', targetFile: file, compression: 'gzip', shift, optimized: true });
    const listing = execFileSync('tar', ['-tzf', file], { encoding: 'utf8' }).trim().split('\n');
    assert.deepEqual(listing, ['backup/index.yaml', 'backup/optimized_header.yaml', 'backup/snapshots/s0.bin', 'backup/container.bin']);
    assert.match(execFileSync('tar', ['-xzOf', file, 'backup/optimized_header.yaml'], { encoding: 'utf8' }), /^subvolumes:\n- path: \/\n  snapshot: s0\n  readonly: true\n  uuid: [0-9a-f-]{36}\n- path: \/\n  snapshot: ""\n  readonly: false\n/);
    assert.deepEqual(subvolumes(mount).filter((s) => s.includes('backup')), [], 'the export snapshot is gone');

    await storage.importBackup({ volume: vol('o2'), snapshots: ['s0'], file, unshift: shift, optimized: true });
    const root = join(mount, 'containers/o2/rootfs');
    assert.equal(statSync(join(root, 'owned')).uid, 1000);
    assert.equal(statSync(join(root, 'etc/hostname')).uid, 0);
    assert.equal(readFileSync(join(root, 'later'), 'utf8'), 'y');
    assert.ok(existsSync(join(mount, 'containers/o2/backup.yaml')));
    writeFileSync(join(root, 'writable'), 'z');
    assert.throws(() => writeFileSync(join(mount, 'containers-snapshots/o2/s0/rootfs/x'), 'x'), /EROFS/);
    assert.ok(!existsSync(join(mount, 'containers-snapshots/o2/s0/rootfs/later')));
    for (const name of ['o1', 'o2']) await storage.deleteVolume({ volume: vol(name) });
    assert.deepEqual(subvolumes(mount), ['images/fpa']);
  });

  test('optimized import of a broken tarball leaves nothing', async () => {
    const bad = join(dir, 'bad.tar');
    writeFileSync(join(dir, 'junk.bin'), 'not a stream');
    execFileSync('tar', ['-cf', bad, '-C', dir, 'junk.bin']);
    await assert.rejects(storage.importBackup({ volume: vol('o3'), snapshots: [], file: bad, optimized: true }));
    assert.deepEqual(subvolumes(mount), ['images/fpa']);
    assert.ok(!existsSync(join(mount, 'containers/o3')));
  });

  test('refusals: an existing loop file, a tiny size, a source that is no btrfs', async () => {
    await assert.rejects(createBtrfsPool(runner, { mountPoint: join(dir, 'm2'), loopFile: loop, size: 512 * 1024 * 1024 }), /already exists|in use/);
    await assert.rejects(createBtrfsPool(runner, { mountPoint: join(dir, 'm2'), loopFile: join(dir, 'disks/tiny.img'), size: 1024 }), /at least/);
    mkdirSync(join(dir, 'plain'));
    await assert.rejects(createBtrfsPool(runner, { mountPoint: join(dir, 'm2'), source: join(dir, 'plain') }), /not on a btrfs/);
    assert.ok(!existsSync(join(dir, 'm2')) && !existsSync(join(dir, 'disks/tiny.img')));
  });

  test('deleting the pool unmounts it and removes the loop file', async () => {
    await storage.deleteImage({ poolSource: mount, driver: 'btrfs', fingerprint: 'fpa' });
    await deleteBtrfsPool(runner, { mountPoint: mount, source: loop, owned: loop });
    assert.ok(!existsSync(mount) && !existsSync(loop));
  });
});
}
