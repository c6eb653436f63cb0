// Custom storage volumes through the real `lxc` client, on a btrfs loop pool and a dir pool: create with a size,
// shared by two containers (what one writes the other reads), the size quota enforced on btrfs, snapshot and restore,
// rename, copy, move to another pool, delete; refusals while in use and for bad input change nothing.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { TestDaemon, busyboxImageDir, describeRun, lxcAsserts, parseYaml } from './harness/index.js';

const usable = process.getuid?.() === 0 && existsSync('/usr/bin/lxc-start') && spawnSync('mkfs.btrfs', ['--version']).status === 0;

describe('custom storage volumes (real containers)', { skip: !usable && 'needs root, liblxc and btrfs-progs' }, () => {
  let d: TestDaemon;
  const { ok, fails } = lxcAsserts(() => d);
  const custom = (pool: string, name = '') => join(d.lxdDir, 'storage-pools', pool, 'custom', name ? `default_${name}` : '');
  const volumes = async (pool: string) =>
    (await ok(['storage', 'volume', 'list', pool, '-f', 'csv']))
      .split('\n')
      .filter((l) => l.startsWith('custom'))
      .map((l) => l.split(',')[1])
      .sort();

  before(async () => {
    d = await TestDaemon.start();
    const init = await d.cli(['init', '--auto']);
    assert.equal(init.code, 0, describeRun(init));
    await ok(['image', 'import', join(await busyboxImageDir(), 'busybox.tar.xz'), '--alias', 'busybox']);
    await ok(['storage', 'create', 'bp', 'btrfs', 'size=1GiB']);
    await ok(['init', 'busybox', 'w1', '-s', 'bp']);
    await ok(['init', 'busybox', 'w2', '-s', 'bp']);
  });
  after(async () => {
    if (d) {
      for (const name of ['w1', 'w2']) await d.lxc(['delete', '--force', name]);
      for (const v of ['shared', 'renamed', 'copy']) await d.lxc(['storage', 'volume', 'delete', 'bp', v]);
      for (const v of ['moved', 'live']) await d.lxc(['storage', 'volume', 'delete', 'default', v]);
      await d.lxc(['storage', 'delete', 'bp']);
      await d.dispose();
    }
  });

  test('bad input is refused and creates nothing', async () => {
    await fails(['storage', 'volume', 'create', 'bp', 'a/b'], /slashes/);
    await fails(['storage', 'volume', 'create', 'bp', 'v1', 'bogus.key=1'], /Invalid option "bogus.key"/);
    await fails(['storage', 'volume', 'create', 'bp', 'v1', 'size=lots'], /size/);
    await fails(['storage', 'volume', 'create', 'bp', 'v1', '--type', 'block'], /not supported yet/);
    await fails(['storage', 'volume', 'create', 'nopool', 'v1'], /not found/);
    assert.deepEqual(await volumes('bp'), []);
  });

  test('a volume shared by two containers: one writes, the other reads', async () => {
    await ok(['storage', 'volume', 'create', 'bp', 'shared', 'size=24MiB']);
    await fails(['storage', 'volume', 'create', 'bp', 'shared'], /already exists/);
    assert.equal(statSync(custom('bp', 'shared')).ino, 256, 'a btrfs subvolume');
    const show = parseYaml(await ok(['storage', 'volume', 'show', 'bp', 'shared'])) as { config: Record<string, string>; type: string };
    assert.deepEqual(show.config, { size: '24MiB' });
    assert.equal(show.type, 'custom');
    await ok(['storage', 'volume', 'attach', 'bp', 'shared', 'w1', '/mnt/shared']);
    await ok(['storage', 'volume', 'attach', 'bp', 'shared', 'w2', 'data', '/srv/data']);
    await ok(['start', 'w1', 'w2']);
    await ok(['exec', 'w1', '--', 'sh', '-c', 'echo written-by-w1 > /mnt/shared/note; mkdir -p /mnt/shared/dir']);
    assert.equal((await ok(['exec', 'w2', '--', 'cat', '/srv/data/note'])).trim(), 'written-by-w1');
    assert.match(await ok(['exec', 'w2', '--', 'ls', '-ln', '/srv/data']), /\s0\s+0\s.*note/, 'owned by the containers\' root');
    const used = parseYaml(await ok(['storage', 'volume', 'show', 'bp', 'shared'])) as { used_by: string[] };
    assert.deepEqual(used.used_by, ['/1.0/instances/w1', '/1.0/instances/w2']);
  });

  test('the size quota stops writes on btrfs (EDQUOT)', async () => {
    const dd = await d.lxc(['exec', 'w1', '--', 'dd', 'if=/dev/zero', 'of=/mnt/shared/big', 'bs=1M', 'count=48'], { timeoutMs: 120_000 });
    assert.notEqual(dd.code, 0, describeRun(dd));
    assert.match(dd.stderr, /Disk quota exceeded/);
    await ok(['exec', 'w1', '--', 'rm', '/mnt/shared/big']);
    assert.match(await ok(['storage', 'volume', 'info', 'bp', 'shared']), /Usage: /);
  });

  test('snapshot and restore (refused while a running container uses it)', async () => {
    await ok(['storage', 'volume', 'snapshot', 'bp', 'shared', 'before']);
    await ok(['exec', 'w1', '--', 'sh', '-c', 'echo changed > /mnt/shared/note']);
    await fails(['storage', 'volume', 'restore', 'bp', 'shared', 'before'], /running instance/);
    await ok(['stop', '--force', 'w1', 'w2']);
    await ok(['storage', 'volume', 'restore', 'bp', 'shared', 'before']);
    await ok(['start', 'w1']);
    assert.equal((await ok(['exec', 'w1', '--', 'cat', '/mnt/shared/note'])).trim(), 'written-by-w1');
    assert.match(await ok(['storage', 'volume', 'list', 'bp', '-f', 'csv']), /custom \(snapshot\),shared\/before,/);
    await ok(['stop', '--force', 'w1']);
  });

  test('hot-plug: attaching to a running container mounts at once, a device change remounts, detaching unmounts', async () => {
    await ok(['storage', 'volume', 'create', 'default', 'live']);
    await ok(['start', 'w1']);
    await ok(['storage', 'volume', 'attach', 'default', 'live', 'w1', '/mnt/live']);
    await ok(['exec', 'w1', '--', 'sh', '-c', 'echo hot > /mnt/live/f']);
    assert.equal((await ok(['exec', 'w1', '--', 'cat', '/mnt/live/f'])).trim(), 'hot');
    await ok(['config', 'device', 'set', 'w1', 'live', 'readonly=true']);
    await fails(['exec', 'w1', '--', 'touch', '/mnt/live/g'], /Read-only file system/);
    await ok(['storage', 'volume', 'detach', 'default', 'live', 'w1']);
    assert.doesNotMatch(await ok(['exec', 'w1', '--', 'cat', '/proc/mounts']), /\/mnt\/live/);
    await ok(['stop', '--force', 'w1']);
    await ok(['storage', 'volume', 'delete', 'default', 'live']);
  });

  test('in use: no delete, no rename; detached: rename, copy, move to the dir pool, delete', async () => {
    await fails(['storage', 'volume', 'delete', 'bp', 'shared'], /in use/);
    await fails(['storage', 'volume', 'rename', 'bp', 'shared', 'renamed'], /in use/);
    await fails(['storage', 'delete', 'bp'], /in use/);
    await ok(['storage', 'volume', 'detach', 'bp', 'shared', 'w1']);
    await ok(['storage', 'volume', 'detach', 'bp', 'shared', 'w2']);
    await ok(['storage', 'volume', 'rename', 'bp', 'shared', 'renamed']);
    assert.ok(!existsSync(custom('bp', 'shared')) && existsSync(custom('bp', 'renamed')));
    await ok(['storage', 'volume', 'copy', 'bp/renamed', 'bp/copy']);
    assert.ok(existsSync(join(custom('bp', 'copy'), 'note')));
    await ok(['storage', 'volume', 'move', 'bp/copy', 'default/moved']);
    assert.ok(existsSync(join(custom('default', 'moved'), 'note')) && !existsSync(custom('bp', 'copy')));
    assert.deepEqual(await volumes('default'), ['moved', 'moved/before']);
    await ok(['storage', 'volume', 'delete', 'default', 'moved']);
    await ok(['storage', 'volume', 'delete', 'bp', 'renamed']);
    assert.deepEqual(await volumes('bp'), []);
    assert.ok(!existsSync(custom('bp', 'renamed')) && !existsSync(join(d.lxdDir, 'storage-pools', 'bp', 'custom-snapshots', 'default_renamed')));
  });

  test('export and import: files and snapshots come back, under the same or a new name; wrong tarballs refused', async () => {
    await ok(['storage', 'volume', 'create', 'bp', 'exp']);
    await ok(['storage', 'volume', 'attach', 'bp', 'exp', 'w1', '/mnt/exp']);
    await ok(['start', 'w1']);
    await ok(['exec', 'w1', '--', 'sh', '-c', 'echo first > /mnt/exp/a']);
    await ok(['storage', 'volume', 'snapshot', 'bp', 'exp', 'one']);
    await ok(['exec', 'w1', '--', 'sh', '-c', 'echo second > /mnt/exp/b']);
    const file = join(d.lxdDir, 'exp.tar.gz');
    await ok(['storage', 'volume', 'export', 'bp', 'exp', file]);
    await ok(['stop', '--force', 'w1']);
    await ok(['storage', 'volume', 'detach', 'bp', 'exp', 'w1']);
    await ok(['storage', 'volume', 'delete', 'bp', 'exp']);
    await ok(['storage', 'volume', 'import', 'bp', file]);
    await ok(['storage', 'volume', 'import', 'default', file, 'exp2']);
    await fails(['storage', 'volume', 'import', 'bp', file], /already exists/);
    assert.deepEqual(await volumes('bp'), ['exp', 'exp/one']);
    assert.deepEqual(await volumes('default'), ['exp2', 'exp2/one']);
    await ok(['storage', 'volume', 'attach', 'default', 'exp2', 'w1', '/mnt/exp2']);
    await ok(['start', 'w1']);
    assert.equal((await ok(['exec', 'w1', '--', 'cat', '/mnt/exp2/a', '/mnt/exp2/b'])).trim(), 'first\nsecond');
    await ok(['stop', '--force', 'w1']);
    await ok(['storage', 'volume', 'restore', 'default', 'exp2', 'one']);
    await ok(['start', 'w1']);
    assert.equal((await d.lxc(['exec', 'w1', '--', 'test', '-e', '/mnt/exp2/b'])).code, 1, 'the snapshot came back without b');
    await ok(['stop', '--force', 'w1']);
    await ok(['storage', 'volume', 'detach', 'default', 'exp2', 'w1']);
    for (const [pool, v] of [['bp', 'exp'], ['default', 'exp2']] as const) await ok(['storage', 'volume', 'delete', pool, v]);
    const bad = join(d.lxdDir, 'not-a-backup.tar.gz');
    spawnSync('sh', ['-c', `echo junk | gzip > '${bad}'`]);
    await fails(['storage', 'volume', 'import', 'bp', bad], /Invalid backup/);
    assert.deepEqual(await volumes('bp'), []);
  });
});
