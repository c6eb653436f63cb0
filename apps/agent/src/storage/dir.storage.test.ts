// Real tar/unsquashfs/cp in a temp dir. Ownership checks need root; the rest runs as any user.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AgentError } from '../errors.js';
import { silentLogger } from '../log.js';
import { createProcessRunner } from '../process/run.js';
import { DirStorage } from './dir.storage.js';
import { detectFormat } from './image-unpacker.js';

const root = process.getuid?.() === 0;
const has = (cmd: string, arg = '--version') => spawnSync(cmd, [arg]).status === 0;

describe('dir storage', () => {
  let dir = '';
  let pool = '';
  let src = '';
  const storage = new DirStorage(createProcessRunner(silentLogger), silentLogger);

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'lxdts-dirstorage-'));
    pool = join(dir, 'pool');
    mkdirSync(pool);
    src = join(dir, 'src');
    mkdirSync(join(src, 'rootfs/etc'), { recursive: true });
    mkdirSync(join(src, 'rootfs/dev'), { recursive: true });
    mkdirSync(join(src, 'templates'));
    writeFileSync(join(src, 'metadata.yaml'), 'architecture: x86_64\n');
    writeFileSync(join(src, 'templates/hostname.tpl'), '{{ container.name }}\n');
    writeFileSync(join(src, 'rootfs/etc/hostname'), 'image\n');
    writeFileSync(join(src, 'rootfs/dev/stray'), 'dropped\n');
    if (root) chownSync(join(src, 'rootfs/etc/hostname'), 1234, 5678);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const tarball = (name: string, flag: string) => {
    const file = join(dir, name);
    execFileSync('tar', ['-c', ...(flag ? [flag] : []), '-f', file, '--numeric-owner', '-C', src, 'metadata.yaml', 'templates', 'rootfs']);
    return file;
  };

  for (const [label, file, flag, tool] of [
    ['plain tar', 'img.tar', '', 'tar'],
    ['gzip', 'img.tar.gz', '-z', 'gzip'],
    ['xz', 'img.tar.xz', '-J', 'xz'],
    ['zstd', 'img.tar.zst', '--zstd', 'zstd'],
  ] as const) {
    test(`unified image (${label}) unpacks once per pool, /dev stays empty`, { skip: !has(tool) && `${tool} missing` }, async () => {
      const fp = `fp${label.replace(/\W/g, '')}`;
      const r = await storage.unpackImage({ poolSource: pool, fingerprint: fp, imageFile: tarball(file, flag) });
      assert.deepEqual(r, { path: join(pool, 'images', fp), created: true });
      assert.equal(readFileSync(join(r.path, 'rootfs/etc/hostname'), 'utf8'), 'image\n');
      assert.ok(existsSync(join(r.path, 'templates/hostname.tpl')));
      assert.deepEqual(readdirSync(join(r.path, 'rootfs/dev')), []);
      if (root) assert.equal(statSync(join(r.path, 'rootfs/etc/hostname')).uid, 1234);
      assert.equal((await storage.unpackImage({ poolSource: pool, fingerprint: fp, imageFile: '/nonexistent' })).created, false);
    });
  }

  test('split image: metadata tarball + squashfs rootfs', { skip: !has('mksquashfs', '-version') && 'squashfs-tools missing' }, async () => {
    const meta = join(dir, 'meta.tar.xz');
    execFileSync('tar', ['-cJf', meta, '-C', src, 'metadata.yaml', 'templates']);
    const sq = join(dir, 'rootfs.squashfs');
    execFileSync('mksquashfs', [join(src, 'rootfs'), sq, '-noappend', '-quiet', '-comp', 'xz']);
    const r = await storage.unpackImage({ poolSource: pool, fingerprint: 'split', imageFile: meta, rootfsFile: sq });
    assert.equal(readFileSync(join(r.path, 'rootfs/etc/hostname'), 'utf8'), 'image\n');
    assert.ok(existsSync(join(r.path, 'metadata.yaml')));
    if (root) assert.equal(statSync(join(r.path, 'rootfs/etc/hostname')).uid, 1234);
  });

  test('split image: metadata tarball + rootfs tarball', async () => {
    const meta = join(dir, 'meta.tar');
    execFileSync('tar', ['-cf', meta, '-C', src, 'metadata.yaml']);
    const rootfs = join(dir, 'rootfs.tar.gz');
    execFileSync('tar', ['-czf', rootfs, '-C', join(src, 'rootfs'), '.']);
    const r = await storage.unpackImage({ poolSource: pool, fingerprint: 'split2', imageFile: meta, rootfsFile: rootfs });
    assert.equal(readFileSync(join(r.path, 'rootfs/etc/hostname'), 'utf8'), 'image\n');
    assert.deepEqual(readdirSync(join(r.path, 'rootfs/dev')), []);
  });

  test('bad images leave nothing behind', async () => {
    const junk = join(dir, 'junk');
    writeFileSync(junk, 'not an image');
    await assert.rejects(storage.unpackImage({ poolSource: pool, fingerprint: 'junk', imageFile: junk }), /Unsupported image format/);
    const noRootfs = join(dir, 'meta-only.tar');
    execFileSync('tar', ['-cf', noRootfs, '-C', src, 'metadata.yaml']);
    await assert.rejects(storage.unpackImage({ poolSource: pool, fingerprint: 'norootfs', imageFile: noRootfs }), /has no rootfs/);
    assert.deepEqual(readdirSync(join(pool, 'images')).filter((e) => e.startsWith('.')), []);
  });

  test('volumes: copy of an image, empty, rename, delete; names and paths are checked', async () => {
    await storage.unpackImage({ poolSource: pool, fingerprint: 'base', imageFile: tarball('base.tar', '') });
    const vol = { poolSource: pool, type: 'containers' as const, name: 'p1_c1' };
    const created = await storage.createVolume({ volume: vol, fromImage: { fingerprint: 'base' } });
    assert.deepEqual(created, { path: join(pool, 'containers/p1_c1'), rootfsPath: join(pool, 'containers/p1_c1/rootfs') });
    assert.equal(readFileSync(join(created.rootfsPath, 'etc/hostname'), 'utf8'), 'image\n');
    assert.ok(existsSync(join(created.path, 'metadata.yaml')));
    if (root) assert.equal(statSync(join(created.rootfsPath, 'etc/hostname')).uid, 1234);
    assert.equal(statSync(created.path).mode & 0o777, 0o711);
    await assert.rejects(storage.createVolume({ volume: vol }), (e: unknown) => e instanceof AgentError && e.status === 409);

    const empty = await storage.createVolume({ volume: { ...vol, name: 'empty' } });
    assert.deepEqual(readdirSync(empty.rootfsPath), []);

    await storage.renameVolume({ volume: vol, newName: 'p1_c2' });
    assert.ok(existsSync(join(pool, 'containers/p1_c2/rootfs/etc/hostname')));
    await assert.rejects(storage.renameVolume({ volume: vol, newName: 'x' }), (e: unknown) => e instanceof AgentError && e.status === 404);
    await storage.deleteVolume({ volume: { ...vol, name: 'p1_c2' } });
    await storage.deleteVolume({ volume: { ...vol, name: 'p1_c2' } }); // idempotent
    assert.ok(!existsSync(join(pool, 'containers/p1_c2')));

    await assert.rejects(storage.createVolume({ volume: { ...vol, name: '../etc' } }), /Invalid volume name/);
    await assert.rejects(storage.createVolume({ volume: { ...vol, poolSource: 'relative' } }), /absolute/);
    await assert.rejects(storage.createVolume({ volume: vol, fromImage: { fingerprint: 'missing' } }), /not unpacked/);
    await storage.deleteImage({ poolSource: pool, fingerprint: 'base' });
    assert.ok(!existsSync(join(pool, 'images/base')));
    assert.deepEqual(readdirSync(join(pool, 'images')).filter((e) => e.includes('base')), [], 'no spare left');
  });

  const waitFor = async (what: string, cond: () => boolean) => {
    for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
    assert.ok(cond(), what);
  };

  test('spare copies: made after each volume, claimed by the next (a rename), gone with the image', async () => {
    const vol = (name: string) => ({ poolSource: pool, type: 'containers' as const, name });
    const spare = join(pool, 'images/.spr.spare');
    // One request: the image is unpacked on the way.
    const first = await storage.createVolume({ volume: vol('s1'), fromImage: { fingerprint: 'spr', imageFile: tarball('sp.tar', '') } });
    assert.ok(existsSync(join(pool, 'images/spr/rootfs/etc/hostname')));
    assert.equal(readFileSync(join(first.rootfsPath, 'etc/hostname'), 'utf8'), 'image\n');
    await waitFor('a spare after the first volume', () => existsSync(spare));
    assert.equal(statSync(spare).mode & 0o777, 0o711);
    const ino = statSync(spare).ino;

    const second = await storage.createVolume({ volume: vol('s2'), fromImage: { fingerprint: 'spr' } });
    assert.equal(statSync(second.path).ino, ino, 'the spare became the volume');
    assert.equal(statSync(second.path).mode & 0o777, 0o711);
    assert.equal(readFileSync(join(second.rootfsPath, 'etc/hostname'), 'utf8'), 'image\n');
    if (root) assert.equal(statSync(join(second.rootfsPath, 'etc/hostname')).uid, 1234);
    assert.ok(existsSync(join(second.path, 'templates/hostname.tpl')));
    // Volumes are copies: a change in one reaches neither the image nor the next spare.
    writeFileSync(join(second.rootfsPath, 'etc/hostname'), 'changed\n');
    await waitFor('the next spare', () => existsSync(spare) && statSync(spare).ino !== ino);
    assert.equal(readFileSync(join(spare, 'rootfs/etc/hostname'), 'utf8'), 'image\n');
    assert.equal(readFileSync(join(pool, 'images/spr/rootfs/etc/hostname'), 'utf8'), 'image\n');

    // Two at once: one takes the spare, the other copies.
    const [a, b] = await Promise.all([
      storage.createVolume({ volume: vol('s3'), fromImage: { fingerprint: 'spr' } }),
      storage.createVolume({ volume: vol('s4'), fromImage: { fingerprint: 'spr' } }),
    ]);
    assert.equal(readFileSync(join(a.rootfsPath, 'etc/hostname'), 'utf8'), 'image\n');
    assert.equal(readFileSync(join(b.rootfsPath, 'etc/hostname'), 'utf8'), 'image\n');

    // Not volumes: only the instances' directories are under containers/.
    assert.deepEqual(readdirSync(join(pool, 'containers')).filter((n) => n.startsWith('s')).sort(), ['s1', 's2', 's3', 's4']);
    await storage.deleteImage({ poolSource: pool, fingerprint: 'spr' });
    assert.deepEqual(readdirSync(join(pool, 'images')).filter((e) => e.includes('spr')), [], 'image and spares gone');
    for (const n of ['s1', 's2', 's3', 's4']) await storage.deleteVolume({ volume: vol(n) });
  });

  test('volume delete: gone at once (a rename into the trash), the trash empties in the background', async () => {
    const vol = { poolSource: pool, type: 'custom' as const, name: 'big' };
    const created = await storage.createVolume({ volume: vol });
    for (let i = 0; i < 50; i++) writeFileSync(join(created.path, `f${i}`), 'x');
    await storage.deleteVolume({ volume: vol });
    assert.ok(!existsSync(created.path));
    const trash = join(pool, 'images/.trash');
    await waitFor('an empty trash', () => readdirSync(trash).length === 0);
    // The name is free again right away.
    await storage.createVolume({ volume: vol });
    await storage.deleteVolume({ volume: vol });
    await waitFor('an empty trash', () => readdirSync(trash).length === 0);
  });
  test('snapshots: a copy under containers-snapshots/<name>/, restored in place, renamed and deleted with the volume', async () => {
    const volume = { poolSource: pool, type: 'containers' as const, name: 'snapme' };
    await storage.createVolume({ volume });
    const file = join(pool, 'containers', 'snapme', 'rootfs', 'data');
    writeFileSync(file, 'one\n');
    await storage.createSnapshot({ volume, snapshot: 's0' });
    assert.equal(readFileSync(join(pool, 'containers-snapshots', 'snapme', 's0', 'rootfs', 'data'), 'utf8'), 'one\n');
    await assert.rejects(storage.createSnapshot({ volume, snapshot: 's0' }), /already exists/);
    await assert.rejects(storage.createSnapshot({ volume, snapshot: '../escape' }), /Invalid snapshot name/);
    writeFileSync(file, 'two\n');
    writeFileSync(`${file}-new`, 'made later\n');
    await storage.restoreSnapshot({ volume, snapshot: 's0' });
    assert.equal(readFileSync(file, 'utf8'), 'one\n');
    assert.equal(existsSync(`${file}-new`), false);
    await storage.renameSnapshot({ volume, snapshot: 's0', newName: 's1' });
    assert.deepEqual(readdirSync(join(pool, 'containers-snapshots', 'snapme')), ['s1']);
    await storage.renameVolume({ volume, newName: 'snapped' });
    const renamed = { ...volume, name: 'snapped' };
    assert.deepEqual(readdirSync(join(pool, 'containers-snapshots', 'snapped')), ['s1']);
    assert.equal(existsSync(join(pool, 'containers-snapshots', 'snapme')), false);
    await storage.createSnapshot({ volume: renamed, snapshot: 's2' });
    await storage.deleteSnapshot({ volume: renamed, snapshot: 's2' });
    assert.deepEqual(readdirSync(join(pool, 'containers-snapshots', 'snapped')), ['s1']);
    await storage.deleteVolume({ volume: renamed });
    assert.equal(existsSync(join(pool, 'containers-snapshots', 'snapped')), false);
    assert.equal(existsSync(join(pool, 'containers', 'snapped')), false);
  });
});

test('detectFormat reads magic numbers', () => {
  assert.equal(detectFormat(Buffer.from('hsqs....')), 'squashfs');
  assert.equal(detectFormat(Buffer.from([0x1f, 0x8b, 8])), 'tar.gz');
  assert.equal(detectFormat(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00])), 'tar.xz');
  assert.equal(detectFormat(Buffer.from([0x28, 0xb5, 0x2f, 0xfd])), 'tar.zst');
  assert.equal(detectFormat(Buffer.from('BZh91AY')), 'tar.bz2');
  const ustar = Buffer.alloc(512);
  ustar.write('ustar', 257, 'latin1');
  assert.equal(detectFormat(ustar), 'tar');
  assert.equal(detectFormat(Buffer.from('hello')), null);
});
