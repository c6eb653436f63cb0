import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { defaultIdmap, parseSubIdFile, readHostIdmap, readRootRange, rootRange } from './subid.js';

test('parseSubIdFile skips comments and malformed lines', () => {
  const entries = parseSubIdFile('# c\n\n_lxd:100000:65536\nroot:1000000:1000000000\nbad\nx:1:y\n');
  assert.deepEqual(entries, [
    { owner: '_lxd', start: 100000, size: 65536 },
    { owner: 'root', start: 1000000, size: 1000000000 },
  ]);
});

test('rootRange picks root (or uid 0), the largest range', () => {
  assert.equal(rootRange(parseSubIdFile('_lxd:1:70000\n')), null);
  assert.deepEqual(rootRange(parseSubIdFile('root:100000:65536\n0:5000000:1000000\n')), { start: 5000000, size: 1000000 });
});

test("defaultIdmap maps root's whole range, as LXD, or refuses a range under 65536 ids", () => {
  assert.deepEqual(defaultIdmap({ start: 1000000, size: 1e9 }, { start: 2000000, size: 1e9 }), {
    uidBase: 1000000,
    gidBase: 2000000,
    size: 1e9,
  });
  assert.deepEqual(defaultIdmap({ start: 100000, size: 65536 }, { start: 100000, size: 1e6 }), { uidBase: 100000, gidBase: 100000, size: 65536 });
  assert.deepEqual(defaultIdmap({ start: 1, size: 1e9 }, { start: 1, size: 1e9 }, 65536), { uidBase: 1, gidBase: 1, size: 65536 });
  assert.equal(defaultIdmap({ start: 1, size: 1000 }, { start: 1, size: 1e9 }), null);
});

test('readRootRange appends root:1000000:1000000000 only when asked and missing', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lxdts-subid-'));
  try {
    const file = join(dir, 'subuid');
    writeFileSync(file, '_lxd:100000:65536');
    assert.equal(readRootRange(file, false), null);
    assert.deepEqual(readRootRange(file, true), { start: 1000000, size: 1000000000 });
    assert.equal(readFileSync(file, 'utf8'), '_lxd:100000:65536\nroot:1000000:1000000000\n');
    assert.deepEqual(readRootRange(file, true), { start: 1000000, size: 1000000000 });
    assert.equal(readFileSync(file, 'utf8').match(/root:/g)?.length, 1);
    assert.deepEqual(readHostIdmap({ subuid: file, subgid: join(dir, 'missing') }, false), null);
    assert.deepEqual(readHostIdmap({ subuid: file, subgid: join(dir, 'subgid') }, true)?.gid, { start: 1000000, size: 1000000000 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
