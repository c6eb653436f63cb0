import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { architectureId, architectureName } from './architectures.js';
import { detectFileFormat } from './compression.js';
import { parseImageMetadata, readImageFile } from './image-metadata.js';
import { compressWith, metadataYaml, splitMetadata, tarBytes, unifiedImage } from './testing/image-fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'lxdts-imgmeta-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, data: Buffer): string {
  const path = join(dir, name);
  writeFileSync(path, data);
  return path;
}

test('metadata.yaml is parsed as text (quoted or not) and validated as LXD does', () => {
  const meta = parseImageMetadata(
    'architecture: amd64\ncreation_date: 1700000000\nexpiry_date: 1800000000\nproperties:\n  release: 1.10\n  os: busybox\n' +
      'templates:\n  /etc/hosts:\n    when: [create, copy]\n    create_only: true\n    template: hosts.tpl\n',
  );
  assert.deepEqual(meta, {
    architecture: 'amd64',
    creation_date: 1700000000,
    expiry_date: 1800000000,
    properties: { release: '1.10', os: 'busybox' },
    templates: { '/etc/hosts': { when: ['create', 'copy'], create_only: true, template: 'hosts.tpl', properties: {} } },
  });
  assert.throws(() => parseImageMetadata('architecture: sparc\ncreation_date: 1\n'), /Architecture isn't supported: sparc/);
  assert.throws(() => parseImageMetadata('architecture: x86_64\n'), /Missing creation date/);
  assert.throws(() => parseImageMetadata('architecture: x86_64\ncreation_date: soon\n'), /creation_date must be an integer/);
  assert.throws(() => parseImageMetadata('- a list\n'), /not a map/);
});

test('architecture names and aliases map to LXD ids', () => {
  assert.equal(architectureId('x86_64'), 2);
  assert.equal(architectureId('amd64'), 2);
  assert.equal(architectureId('i686'), 1);
  assert.equal(architectureId('arm64'), 4);
  assert.equal(architectureName(4), 'aarch64');
  assert.equal(architectureName(99), 'unknown');
});

test('image files are read whatever their compression', async () => {
  const tar = tarBytes([
    { name: 'metadata.yaml', content: metadataYaml() },
    { name: 'rootfs/', type: 'directory' },
  ]);
  const variants: [string, Buffer | undefined, string][] = [
    ['plain.tar', tar, 'tar'],
    ['image.tar.gz', gzipSync(tar), 'gzip'],
    ['image.tar.xz', compressWith('xz', tar), 'xz'],
    ['image.tar.zst', compressWith('zstd', tar), 'zstd'],
  ];
  for (const [name, data, format] of variants) {
    if (!data) continue; // tool not installed
    const info = await readImageFile(file(name, data));
    assert.equal(info.format, format);
    assert.equal(info.type, 'container');
    assert.equal(info.metadata.architecture, 'x86_64');
    assert.equal(info.metadata.properties['os'], 'busybox');
  }
});

test('unified, split-metadata and VM tarballs report their type', async () => {
  assert.equal((await readImageFile(file('u.tar.gz', unifiedImage()))).type, 'container');
  assert.equal((await readImageFile(file('m.tar.gz', splitMetadata()))).type, null);
  const vm = gzipSync(tarBytes([{ name: 'metadata.yaml', content: metadataYaml() }, { name: 'rootfs.img', content: 'qcow' }]));
  assert.equal((await readImageFile(file('vm.tar.gz', vm))).type, 'virtual-machine');
});

test('bad image files fail with LXD messages', async () => {
  await assert.rejects(readImageFile(file('empty', Buffer.alloc(0))), /^Error: EOF$|EOF/);
  await assert.rejects(readImageFile(file('garbage', Buffer.from('not an image at all'))), /Unsupported compression/);
  await assert.rejects(
    readImageFile(file('nometa.tar.gz', gzipSync(tarBytes([{ name: 'rootfs/', type: 'directory' }])))),
    /Metadata tarball is missing metadata.yaml/,
  );
  const squash = Buffer.concat([Buffer.from('hsqs'), Buffer.alloc(100)]);
  assert.equal(await detectFileFormat(file('r.squashfs', squash)), 'squashfs');
  await assert.rejects(readImageFile(file('r2.squashfs', squash)), /Unsupported image metadata format: squashfs/);
});
