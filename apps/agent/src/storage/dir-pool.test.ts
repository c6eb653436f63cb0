// dir pool directories on a real filesystem: LXD's layout and modes, what a source may hold, rollback of exactly
// what a creation made, removal that keeps what the pool does not own, statfs figures.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AgentError } from '../errors.js';
import { DIR_POOL_LAYOUT, createDirPool, deleteDirPool, dirPoolResources, undoCreateDirPool } from './dir-pool.js';

const refused = (pattern: RegExp) => (err: unknown) => err instanceof AgentError && err.code === 'bad_request' && pattern.test(err.message);

describe('dir pool directories', () => {
  let tmp = '';
  before(() => {
    tmp = mkdtempSync(join(tmpdir(), 'lxdts-dir-pool-'));
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  test('a missing source is created with LXD\'s layout and modes, and goes away with the pool it belongs to', () => {
    const source = join(tmp, 'new', 'deep', 'src');
    const created = createDirPool(source);
    assert.equal(created.createdRoot, join(tmp, 'new'));
    assert.deepEqual(readdirSync(source).sort(), Object.keys(DIR_POOL_LAYOUT).sort());
    for (const [dir, mode] of Object.entries(DIR_POOL_LAYOUT)) assert.equal(statSync(join(source, dir)).mode & 0o777, mode, dir);
    deleteDirPool(source, created.createdRoot ?? undefined);
    assert.equal(existsSync(join(tmp, 'new')), false);
  });

  test('a pre-existing source keeps what is not the layout; an old layout is taken over; anything else is refused', () => {
    const existing = join(tmp, 'existing');
    mkdirSync(existing);
    assert.equal(createDirPool(existing).createdRoot, null);
    writeFileSync(join(existing, 'custom', 'left-over'), 'x');
    deleteDirPool(existing, undefined);
    assert.deepEqual(readdirSync(existing), []);

    mkdirSync(join(existing, 'containers'));
    const again = createDirPool(existing);
    assert.equal(again.createdSubdirs.includes(join(existing, 'containers')), false);
    deleteDirPool(existing, undefined);
    writeFileSync(join(existing, 'data.txt'), 'keep me');
    assert.throws(() => createDirPool(existing), refused(/^Source path '.*existing' isn't empty$/));
    assert.throws(() => createDirPool(join(existing, 'data.txt')), refused(/isn't a directory/));
    assert.deepEqual(readdirSync(existing), ['data.txt']);
  });

  test('undoing a creation removes exactly what it made', () => {
    const fresh = join(tmp, 'fresh', 'src');
    undoCreateDirPool(createDirPool(fresh));
    assert.equal(existsSync(join(tmp, 'fresh')), false);

    const cached = join(tmp, 'cached');
    mkdirSync(join(cached, 'images'), { recursive: true });
    writeFileSync(join(cached, 'images', 'kept'), 'x');
    undoCreateDirPool(createDirPool(cached));
    assert.deepEqual(readdirSync(cached), ['images']);
    assert.deepEqual(readdirSync(join(cached, 'images')), ['kept']);
  });

  test('only absolute, normalized paths; resources from statfs', () => {
    assert.throws(() => createDirPool('relative/src'), refused(/Invalid pool source/));
    assert.throws(() => deleteDirPool('/', undefined), refused(/Invalid pool source/));
    assert.throws(() => deleteDirPool(`${tmp}/a/../b`, undefined), refused(/Invalid pool source/));
    const res = dirPoolResources(tmp);
    assert.ok(res.space.total > 0 && res.space.used <= res.space.total);
    assert.ok(res.inodes.used <= res.inodes.total);
  });
});
