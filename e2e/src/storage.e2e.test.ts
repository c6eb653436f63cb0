// Storage pools (dir driver) through the real `lxc`: create with a source directory, list/show/info, set/edit, delete.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { TestDaemon, describeRun, makeTempDir, parseYaml, removeTempDir } from './harness/index.js';

/** What LXD 5.0.2's dir driver creates inside a pool's source directory, and the modes it gives them. */
const DIR_LAYOUT: Record<string, number> = {
  buckets: 0o711,
  containers: 0o711,
  'containers-snapshots': 0o711,
  custom: 0o711, // LXD: 0700 (lxdts mounts custom volumes idmapped from inside the container's user namespace)
  'custom-snapshots': 0o700,
  images: 0o700,
  'virtual-machines': 0o700,
  'virtual-machines-snapshots': 0o700,
};

describe('storage pools (dir)', () => {
  let d: TestDaemon;
  let src: string;
  before(async () => {
    d = await TestDaemon.start();
    src = makeTempDir('pool');
  });
  after(async () => {
    await d?.dispose();
    if (src) removeTempDir(src);
  });

  const ok = async (args: string[], input?: string) => {
    const r = await d.lxc(args, input === undefined ? {} : { input });
    assert.equal(r.code, 0, describeRun(r));
    return r;
  };
  const fails = async (args: string[], stderr: RegExp) => {
    const r = await d.lxc(args);
    assert.notEqual(r.code, 0, describeRun(r));
    assert.match(r.stderr, stderr, describeRun(r));
  };
  const show = async (name: string) => parseYaml((await ok(['storage', 'show', name])).stdout);

  test('a fresh daemon has no storage pool', async () => {
    const r = await ok(['storage', 'list', '--format', 'json']);
    assert.deepEqual(JSON.parse(r.stdout), []);
  });

  test('create p2 with source=<dir> lays out the dir driver tree', async () => {
    const r = await ok(['storage', 'create', 'p2', 'dir', `source=${src}`]);
    assert.match(r.stdout, /Storage pool p2 created/);
    assert.deepEqual(readdirSync(src).sort(), Object.keys(DIR_LAYOUT).sort());
    for (const [sub, mode] of Object.entries(DIR_LAYOUT)) {
      const st = statSync(join(src, sub));
      assert.ok(st.isDirectory(), `${sub} is a directory`);
      assert.equal((st.mode & 0o777).toString(8), mode.toString(8), `mode of ${sub}`);
    }
    await fails(['storage', 'create', 'p2', 'dir'], /already exists/);
  });

  test('list, show, info', async () => {
    const list = JSON.parse((await ok(['storage', 'list', '--format', 'json'])).stdout) as any[];
    assert.deepEqual(list.map((p) => p.name), ['p2']);
    assert.equal(list[0].driver, 'dir');
    assert.equal(list[0].status, 'Created');
    assert.deepEqual(await show('p2'), {
      config: { source: src },
      description: '',
      name: 'p2',
      driver: 'dir',
      used_by: [],
      status: 'Created',
      locations: ['none'],
    });
    const info = parseYaml((await ok(['storage', 'info', 'p2'])).stdout);
    assert.equal(info.info.name, 'p2');
    assert.equal(info.info.driver, 'dir');
    assert.equal(info.info.description, '');
    assert.match(String(info.info['total space']), /^\d+(\.\d+)?[KMGTPE]?i?B$/);
    assert.match(String(info.info['space used']), /^\d+(\.\d+)?[KMGTPE]?i?B$/);
    assert.deepEqual(info['used by'], {});
    await fails(['storage', 'show', 'nope'], /Storage pool not found/);
  });

  test('set/get/unset a key; description only through edit (5.0.2 `storage set` has no description)', async () => {
    await ok(['storage', 'set', 'p2', 'rsync.bwlimit', '10']);
    assert.equal((await ok(['storage', 'get', 'p2', 'rsync.bwlimit'])).stdout.trim(), '10');
    assert.deepEqual((await show('p2')).config, { 'rsync.bwlimit': '10', source: src });
    await ok(['storage', 'unset', 'p2', 'rsync.bwlimit']);
    assert.deepEqual((await show('p2')).config, { source: src });
    await fails(['storage', 'set', 'p2', 'description', 'hello'], /Invalid option "description"/);
    await fails(['storage', 'set', 'p2', 'foo.bar', '1'], /foo\.bar/);
    await ok(['storage', 'edit', 'p2'], `config:\n  source: ${src}\ndescription: edited pool\n`);
    const p = await show('p2');
    assert.equal(p.description, 'edited pool');
    assert.deepEqual(p.config, { source: src });
  });

  test('create without source uses $LXD_DIR/storage-pools/<name>', async () => {
    await ok(['storage', 'create', 'p3', 'dir']);
    const where = join(d.lxdDir, 'storage-pools', 'p3');
    try {
      assert.equal((await show('p3')).config.source, where);
      assert.deepEqual(readdirSync(where).sort(), Object.keys(DIR_LAYOUT).sort());
    } finally {
      await ok(['storage', 'delete', 'p3']);
    }
    assert.equal(existsSync(where), false, `${where} removed`);
  });

  test('delete removes what the pool created in its source directory', async () => {
    const r = await ok(['storage', 'delete', 'p2']);
    assert.match(r.stdout, /Storage pool p2 deleted/);
    assert.deepEqual(existsSync(src) ? readdirSync(src) : [], []);
    assert.deepEqual(JSON.parse((await ok(['storage', 'list', '--format', 'json'])).stdout), []);
    await fails(['storage', 'delete', 'p2'], /Storage pool not found/);
  });
});
