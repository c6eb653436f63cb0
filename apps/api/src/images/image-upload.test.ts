import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { receiveUpload } from './image-upload.js';
import { chunked, multipartBody, splitMetadata, splitRootfs, unifiedImage } from './testing/image-fixtures.js';

const root = mkdtempSync(join(tmpdir(), 'lxdts-imgupload-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const stagingDir = () => mkdtempSync(join(root, `s${n++}-`));
const sha256 = (...parts: Buffer[]) => createHash('sha256').update(Buffer.concat(parts)).digest('hex');

test('a raw body is stored and fingerprinted while it streams in', async () => {
  const image = unifiedImage();
  const dir = stagingDir();
  const staged = await receiveUpload(chunked(image, 1000), 'application/octet-stream', dir);
  assert.equal(staged.kind, 'unified');
  if (staged.kind !== 'unified') return;
  assert.equal(staged.fingerprint, sha256(image));
  assert.equal(staged.size, image.length);
  assert.ok(readFileSync(staged.file.path).equals(image));
});

test('JSON bodies are recognised; a declared JSON body that does not parse is reported', async () => {
  const json = await receiveUpload(chunked(Buffer.from(' {"source":{"type":"url"}}'), 4), undefined, stagingDir());
  assert.deepEqual(json, { kind: 'json', body: { source: { type: 'url' } } });
  const bad = await receiveUpload(chunked(Buffer.from('{bad'), 4), 'application/json', stagingDir());
  assert.equal(bad.kind, 'bad-json');
  // Undeclared and not JSON after all: an image upload (that will fail to import).
  const brace = await receiveUpload(chunked(Buffer.from('{not json'), 4), undefined, stagingDir());
  assert.equal(brace.kind, 'unified');
});

test('a multipart split image is fingerprinted over metadata then rootfs', async () => {
  const meta = splitMetadata();
  const rootfs = splitRootfs();
  const body = multipartBody('xyz', [
    { name: 'metadata', filename: 'meta.tar.gz', data: meta },
    { name: 'rootfs', filename: 'rootfs.tar', data: rootfs },
  ]);
  const staged = await receiveUpload(chunked(body, 333), 'multipart/form-data; boundary=xyz', stagingDir());
  assert.equal(staged.kind, 'split');
  if (staged.kind !== 'split') return;
  assert.equal(staged.fingerprint, sha256(meta, rootfs));
  assert.equal(staged.size, meta.length + rootfs.length);
  assert.equal(staged.rootfs.filename, 'rootfs.tar');
  assert.equal(staged.rootfsPart, 'rootfs');
  assert.ok(readFileSync(staged.metadata.path).equals(meta));
  assert.ok(readFileSync(staged.rootfs.path).equals(rootfs));
});

test('a malformed multipart image is an operation-level error and the body is still read to its end', async () => {
  let consumed = 0;
  const body = multipartBody('xyz', [{ name: 'meta', filename: 'm', data: Buffer.alloc(5000) }]);
  async function* source() {
    for await (const c of chunked(body, 100)) {
      consumed += c.length;
      yield c;
    }
  }
  const dir = stagingDir();
  const staged = await receiveUpload(source(), 'multipart/form-data; boundary=xyz', dir);
  assert.deepEqual(staged, { kind: 'invalid', message: 'Invalid multipart image' });
  assert.equal(consumed, body.length);
  assert.deepEqual(readdirSync(dir), []);
});
