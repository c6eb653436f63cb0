import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tarEntries } from './tar-reader.js';
import { chunked, tarBytes } from './testing/image-fixtures.js';

async function collect(data: Buffer, chunk = 7) {
  const out: { name: string; type: string; content?: string }[] = [];
  for await (const e of tarEntries(chunked(data, chunk))) {
    out.push({ name: e.name, type: e.type, ...(e.name.endsWith('.txt') ? { content: (await e.read(1024)).toString() } : {}) });
  }
  return out;
}

test('tar reader lists entries, strips "./" and reads chosen contents across odd chunk sizes', async () => {
  const data = tarBytes([
    { name: './a.txt', content: 'hello' },
    { name: './dir/', type: 'directory' },
    { name: './dir/link', type: 'symlink', linkName: '../a.txt' },
    { name: './dir/skipped.bin', content: Buffer.alloc(3000, 1) },
    { name: './dir/b.txt', content: 'world' },
  ]);
  assert.deepEqual(await collect(data), [
    { name: 'a.txt', type: 'file', content: 'hello' },
    { name: 'dir/', type: 'directory' },
    { name: 'dir/link', type: 'symlink' },
    { name: 'dir/skipped.bin', type: 'file' },
    { name: 'dir/b.txt', type: 'file', content: 'world' },
  ]);
});

test('tar reader follows GNU long names and pax paths', async () => {
  const long = `rootfs/${'x'.repeat(120)}/file.txt`;
  for (const pax of [false, true]) {
    const entries = await collect(tarBytes([{ name: long, content: 'deep' }, { name: 'short.txt', content: 's' }], { pax }), 512);
    assert.deepEqual(entries, [
      { name: long, type: 'file', content: 'deep' },
      { name: 'short.txt', type: 'file', content: 's' },
    ]);
  }
});

test('tar reader stops early without draining the source', async () => {
  let pulled = 0;
  async function* source() {
    const data = tarBytes([{ name: 'first.txt', content: '1' }, { name: 'big', content: Buffer.alloc(1 << 20) }]);
    for (let i = 0; i < data.length; i += 512) {
      pulled++;
      yield data.subarray(i, i + 512);
    }
  }
  for await (const e of tarEntries(source())) {
    assert.equal(e.name, 'first.txt');
    break;
  }
  assert.ok(pulled < 10, `pulled ${pulled} blocks`);
});

test('tar reader rejects corrupt headers, truncated archives and oversized reads', async () => {
  const data = tarBytes([{ name: 'a.txt', content: 'hello' }]);
  const corrupt = Buffer.from(data);
  corrupt[10] = 0x41;
  await assert.rejects(collect(corrupt), /checksum/);
  await assert.rejects(collect(data.subarray(0, 600)), /unexpected EOF/);
  await assert.rejects(async () => {
    for await (const e of tarEntries(chunked(data, 512))) await e.read(2);
  }, /larger than 2 bytes/);
});
