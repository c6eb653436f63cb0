import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type PartSink, multipartBoundary, readMultipart } from './multipart-reader.js';
import { chunked, multipartBody } from './testing/image-fixtures.js';

function collector() {
  const parts: { name: string; filename: string; data: Buffer; ended: boolean }[] = [];
  const open = async (p: { name: string; filename: string }): Promise<PartSink> => {
    const part = { name: p.name, filename: p.filename, data: Buffer.alloc(0), ended: false };
    parts.push(part);
    return {
      write: async (chunk) => void (part.data = Buffer.concat([part.data, chunk])),
      end: async () => void (part.ended = true),
    };
  };
  return { parts, open };
}

test('multipart reader splits parts whatever the chunking, ignoring preamble and epilogue', async () => {
  // Part data that contains near-delimiters must come through untouched.
  const meta = Buffer.from('meta\r\n--b0undary\r\n--bound');
  const rootfs = Buffer.alloc(70000, 7);
  const body = multipartBody('boundary', [
    { name: 'metadata', filename: 'meta.tar.xz', data: meta },
    { name: 'rootfs', filename: 'rootfs.squashfs', data: rootfs },
  ]);
  for (const size of [1, 3, 64, 65536]) {
    const { parts, open } = collector();
    const n = await readMultipart(chunked(body, size)[Symbol.asyncIterator](), 'boundary', open);
    assert.equal(n, 2);
    assert.deepEqual(
      parts.map((p) => [p.name, p.filename, p.ended]),
      [
        ['metadata', 'meta.tar.xz', true],
        ['rootfs', 'rootfs.squashfs', true],
      ],
    );
    assert.ok(parts[0]!.data.equals(meta));
    assert.ok(parts[1]!.data.equals(rootfs));
  }
});

test('multipart reader fails on a body without its closing delimiter', async () => {
  const body = multipartBody('b', [{ name: 'metadata', filename: 'm', data: Buffer.from('x') }]);
  const cut = body.subarray(0, body.indexOf('--b--'));
  await assert.rejects(readMultipart(chunked(cut, 5)[Symbol.asyncIterator](), 'b', collector().open), /unexpected end/);
});

test('multipart boundary comes from the content type', () => {
  assert.equal(multipartBoundary('multipart/form-data; boundary=abc123'), 'abc123');
  assert.equal(multipartBoundary('multipart/form-data; boundary="a b"'), 'a b');
  assert.equal(multipartBoundary('application/octet-stream'), undefined);
  assert.equal(multipartBoundary(undefined), undefined);
});
