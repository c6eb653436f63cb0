import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, test } from 'node:test';
import { setImmediate as tick } from 'node:timers/promises';
import { exportResponse } from './image-export.js';
import { type PartSink, multipartBoundary, readMultipart } from './multipart-reader.js';

const dir = mkdtempSync(join(tmpdir(), 'lxdts-imgexport-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const meta = Buffer.from('metadata tarball\r\n--not-a-boundary\r\n');
const rootfs = Buffer.alloc(300_000, 7);
writeFileSync(join(dir, 'fp'), meta);
writeFileSync(join(dir, 'fp.rootfs'), rootfs);

async function bytesOf(body: unknown): Promise<Buffer> {
  assert.ok(body instanceof Readable, 'the body is streamed');
  const chunks: Buffer[] = [];
  for await (const c of body) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

test('a unified image streams as one inline file with its length', async () => {
  const res = await exportResponse({ fingerprint: 'fp', metadata: { path: join(dir, 'fp.rootfs'), filename: 'fp.tar.gz' }, rootfs: null });
  assert.equal(res.contentType, 'application/octet-stream');
  assert.equal(res.headers?.['content-disposition'], 'inline;filename=fp.tar.gz');
  assert.equal(res.headers?.['content-length'], String(rootfs.length));
  assert.ok(res.headers?.['last-modified']);
  assert.ok((await bytesOf(res.body)).equals(rootfs));
});

test('a split image streams as multipart/form-data with metadata and rootfs parts', async () => {
  const res = await exportResponse({
    fingerprint: 'fp',
    metadata: { path: join(dir, 'fp'), filename: 'meta-fp.tar.gz' },
    rootfs: { path: join(dir, 'fp.rootfs'), filename: 'fp.squashfs', part: 'rootfs' },
  });
  const boundary = multipartBoundary(res.contentType);
  assert.ok(boundary);
  assert.equal(res.headers?.['content-transfer-encoding'], 'binary');
  const body = await bytesOf(res.body);
  assert.ok(body.subarray(0, 2 + boundary.length).equals(Buffer.from(`--${boundary}`)), 'no preamble (Go multipart.Writer)');
  const parts: { name: string; filename: string; data: Buffer[] }[] = [];
  const open = async (p: { name: string; filename: string }): Promise<PartSink> => {
    const part = { name: p.name, filename: p.filename, data: [] as Buffer[] };
    parts.push(part);
    return { write: async (c) => void part.data.push(c), end: async () => undefined };
  };
  await readMultipart(Readable.from([body])[Symbol.asyncIterator](), boundary, open);
  assert.deepEqual(parts.map((p) => [p.name, p.filename]), [['metadata', 'meta-fp.tar.gz'], ['rootfs', 'fp.squashfs']]);
  assert.ok(Buffer.concat(parts[0]!.data).equals(meta));
  assert.ok(Buffer.concat(parts[1]!.data).equals(rootfs));
});

test('files are opened before answering and closed when the client goes away', async () => {
  await assert.rejects(
    exportResponse({ fingerprint: 'fp', metadata: { path: join(dir, 'fp'), filename: 'm' }, rootfs: { path: join(dir, 'gone'), filename: 'r', part: 'rootfs' } }),
    /ENOENT/,
  );
  const res = await exportResponse({
    fingerprint: 'fp',
    metadata: { path: join(dir, 'fp'), filename: 'm' },
    rootfs: { path: join(dir, 'fp.rootfs'), filename: 'r', part: 'rootfs' },
  });
  const body = res.body as Readable;
  assert.equal(openImageFiles().length, 2);
  body.destroy();
  await new Promise((resolve) => body.once('close', resolve));
  await tick();
  assert.deepEqual(openImageFiles(), []);
});

/** Descriptors of this process that point into the test folder. */
function openImageFiles(): string[] {
  return readdirSync('/proc/self/fd')
    .map((fd) => {
      try {
        return readlinkSync(`/proc/self/fd/${fd}`);
      } catch {
        return '';
      }
    })
    .filter((target) => target.startsWith(dir));
}
