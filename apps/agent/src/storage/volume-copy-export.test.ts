// Volume copies (lxc copy) and image packing (lxc publish) with the real cp and tar. Ownership checks need root.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseImageMetadataYaml } from '@lxdts/api-types';
import { AgentError } from '../errors.js';
import { silentLogger } from '../log.js';
import { createProcessRunner } from '../process/run.js';
import { DirStorage } from './dir.storage.js';
import { detectFileFormat } from './image-unpacker.js';

const isRoot = process.getuid?.() === 0;
const has = (cmd: string) => spawnSync(cmd, ['--version']).status === 0;

describe('dir storage: volume copy and image export', () => {
  let dir = '';
  let pool = '';
  let pool2 = '';
  const storage = new DirStorage(createProcessRunner(silentLogger), silentLogger);
  const vol = (name: string, poolSource = pool) => ({ poolSource, type: 'containers' as const, name });

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'lxdts-copyexport-'));
    pool = join(dir, 'pool');
    pool2 = join(dir, 'pool2');
    mkdirSync(pool);
    mkdirSync(pool2);
    const src = join(pool, 'containers/c1');
    mkdirSync(join(src, 'rootfs/etc'), { recursive: true });
    mkdirSync(join(src, 'templates'));
    writeFileSync(
      join(src, 'metadata.yaml'),
      'architecture: x86_64\ncreation_date: 1600000000\nproperties:\n  os: busybox\n  release: "1.35"\ntemplates:\n  /etc/hostname:\n    when: [create, copy]\n    template: hostname.tpl\n',
    );
    writeFileSync(join(src, 'templates/hostname.tpl'), '{{ container.name }}\n');
    writeFileSync(join(src, 'rootfs/etc/hostname'), 'c1\n');
    writeFileSync(join(src, 'rootfs/marker'), 'from c1\n', { mode: 0o640 });
    symlinkSync('/etc/hostname', join(src, 'rootfs/link'));
    if (isRoot) chownSync(join(src, 'rootfs/marker'), 1234, 5678);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('copy: metadata.yaml, templates and rootfs with owners, modes and links; same or other pool', async () => {
    const r = await storage.copyVolume({ volume: vol('c2'), source: vol('c1') });
    assert.deepEqual(r, { path: join(pool, 'containers/c2'), rootfsPath: join(pool, 'containers/c2/rootfs') });
    assert.equal(readFileSync(join(r.path, 'templates/hostname.tpl'), 'utf8'), '{{ container.name }}\n');
    assert.ok(existsSync(join(r.path, 'metadata.yaml')));
    assert.equal(readFileSync(join(r.rootfsPath, 'marker'), 'utf8'), 'from c1\n');
    const st = statSync(join(r.rootfsPath, 'marker'));
    assert.equal(st.mode & 0o777, 0o640);
    if (isRoot) assert.deepEqual([st.uid, st.gid], [1234, 5678]);
    assert.equal(statSync(r.path).mode & 0o777, 0o711);
    const other = await storage.copyVolume({ volume: vol('c3', pool2), source: vol('c1') });
    assert.ok(existsSync(join(other.rootfsPath, 'marker')));
  });

  test('copy: refusals leave nothing behind', async () => {
    await assert.rejects(storage.copyVolume({ volume: vol('c2'), source: vol('c1') }), (e: unknown) => e instanceof AgentError && e.status === 409);
    await assert.rejects(storage.copyVolume({ volume: vol('x'), source: vol('missing') }), (e: unknown) => e instanceof AgentError && e.status === 404);
    await assert.rejects(storage.copyVolume({ volume: vol('../x'), source: vol('c1') }), /Invalid volume name/);
    assert.deepEqual(readdirSync(join(pool, 'containers')).filter((n) => n.startsWith('.')), [], 'no temporary directory left');
  });

  const exportTo = async (name: string, compression: 'gzip' | 'none' | 'xz' | 'zstd', properties: Record<string, string> | null) => {
    const targetFile = join(dir, name);
    const r = await storage.exportImage({ volume: vol('c1'), targetFile, compression, architecture: 'x86_64', creationDate: 1700000000, expiryDate: 0, properties });
    return { r, targetFile };
  };

  test('export: a unified tarball, metadata.yaml first and rewritten, fingerprint = sha256 of the file', async () => {
    const { r, targetFile } = await exportTo('img.tar.gz', 'gzip', null);
    const bytes = readFileSync(targetFile);
    assert.equal(r.size, bytes.length);
    assert.equal(r.sha256, createHash('sha256').update(bytes).digest('hex'));
    assert.equal(statSync(targetFile).mode & 0o777, 0o600);
    assert.equal(detectFileFormat(targetFile), 'tar.gz');
    const names = execFileSync('tar', ['-tzf', targetFile], { encoding: 'utf8' }).trim().split('\n');
    assert.equal(names[0], 'metadata.yaml');
    for (const n of ['rootfs/', 'rootfs/marker', 'rootfs/link', 'templates/', 'templates/hostname.tpl']) assert.ok(names.includes(n), n);
    const meta = parseImageMetadataYaml(execFileSync('tar', ['-xzOf', targetFile, 'metadata.yaml'], { encoding: 'utf8' }));
    assert.equal(meta.creation_date, 1700000000);
    assert.deepEqual(meta.properties, { os: 'busybox', release: '1.35' });
    assert.deepEqual(meta.templates['/etc/hostname']?.when, ['create', 'copy']);
    if (isRoot) {
      const listing = execFileSync('tar', ['-tvzf', targetFile, '--numeric-owner', 'rootfs/marker'], { encoding: 'utf8' });
      assert.match(listing, /^-rw-r----- 1234\/5678 /);
    }
  });

  test('export: request properties replace those of metadata.yaml; other compressions', async () => {
    const { targetFile } = await exportTo('img.tar', 'none', { description: 'mine' });
    assert.equal(detectFileFormat(targetFile), 'tar');
    const meta = parseImageMetadataYaml(execFileSync('tar', ['-xOf', targetFile, 'metadata.yaml'], { encoding: 'utf8' }));
    assert.deepEqual(meta.properties, { description: 'mine' });
    for (const [c, fmt] of [['xz', 'tar.xz'], ['zstd', 'tar.zst']] as const) {
      if (!has(c)) continue;
      const { targetFile: f } = await exportTo(`img.${c}`, c, null);
      assert.equal(detectFileFormat(f), fmt);
    }
  });

  test('export: refusals', async () => {
    await assert.rejects(exportTo('img.tar.gz', 'gzip', null), (e: unknown) => e instanceof AgentError && e.status === 409);
    await assert.rejects(
      storage.exportImage({ volume: vol('c1'), targetFile: join(dir, 'x'), compression: 'lz4' as 'gzip', architecture: 'x86_64', creationDate: 1, expiryDate: 0, properties: null }),
      /Unsupported compression algorithm "lz4"/,
    );
    await assert.rejects(
      storage.exportImage({ volume: vol('c1'), targetFile: 'relative', compression: 'gzip', architecture: 'x86_64', creationDate: 1, expiryDate: 0, properties: null }),
      /absolute/,
    );
    await assert.rejects(
      storage.exportImage({ volume: vol('nope'), targetFile: join(dir, 'y'), compression: 'gzip', architecture: 'x86_64', creationDate: 1, expiryDate: 0, properties: null }),
      (e: unknown) => e instanceof AgentError && e.status === 404,
    );
    assert.ok(!existsSync(join(dir, 'x')) && !existsSync(join(dir, 'y')));
  });
});
