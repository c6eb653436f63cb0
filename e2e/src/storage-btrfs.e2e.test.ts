// btrfs pools through the real `lxc` client, on a loop file the daemon makes: the pool is a mounted btrfs; images,
// instances and snapshots are subvolumes; snapshot/restore, copy from a snapshot, export/import round-trip; a root
// size quota stops writes with EDQUOT; deleting instances removes their subvolumes; a pool in use can't go; deleting
// it unmounts it and removes the loop file. Bad input changes nothing.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync, statfsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { TestDaemon, busyboxImageDir, describeRun, lxcAsserts, makeTempDir, parseYaml, removeTempDir } from './harness/index.js';

const BTRFS_MAGIC = 0x9123683e;
const usable = process.getuid?.() === 0 && existsSync('/usr/bin/lxc-start') && spawnSync('mkfs.btrfs', ['--version']).status === 0;

describe('btrfs storage pools (real containers)', { skip: !usable && 'needs root, liblxc and btrfs-progs' }, () => {
  let d: TestDaemon;
  let work = '';
  const { ok, fails } = lxcAsserts(() => d);
  const mount = () => join(d.lxdDir, 'storage-pools', 'bp');
  const loopFile = () => join(d.lxdDir, 'disks', 'bp.img');
  const isSubvolume = (path: string) => existsSync(path) && statSync(path).ino === 256;
  const subvolumes = () =>
    execFileSync('btrfs', ['subvolume', 'list', '-o', mount()], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean)
      .map((l) => l.slice(l.indexOf(' path ') + 6))
      .sort();
  const sha = async (name: string, path: string) => (await ok(['exec', name, '--', 'sha256sum', path])).split(' ')[0];

  before(async () => {
    d = await TestDaemon.start();
    work = makeTempDir('btrfs');
    const init = await d.cli(['init', '--auto']);
    assert.equal(init.code, 0, describeRun(init));
    await ok(['image', 'import', join(await busyboxImageDir(), 'busybox.tar.xz'), '--alias', 'busybox']);
  });
  after(async () => {
    if (d) {
      for (const name of ['b1', 'b2', 'b3']) await d.lxc(['delete', '--force', name]);
      await d.lxc(['storage', 'delete', 'bp']);
      await d.dispose();
    }
    if (work) removeTempDir(work);
  });

  test('bad pool input is refused and leaves nothing', async () => {
    await fails(['storage', 'create', 'bad', 'btrfs', 'size=lots'], /Invalid value for option "size"/);
    await fails(['storage', 'create', 'bad', 'btrfs', 'size=1MiB'], /at least 128MiB/);
    await fails(['storage', 'create', 'bad', 'btrfs', `source=${work}`], /not on a btrfs/);
    await fails(['storage', 'create', 'bad', 'btrfs', 'zfs.pool_name=x'], /Invalid option "zfs.pool_name"/);
    await fails(['storage', 'create', 'bad', 'zfs'], /not supported on this host/);
    assert.ok(!existsSync(join(d.lxdDir, 'disks', 'bad.img')));
    assert.ok(!existsSync(join(d.lxdDir, 'storage-pools', 'bad')));
    assert.doesNotMatch(await ok(['storage', 'list', '-f', 'csv']), /^bad,/m);
  });

  test('lxc storage create bp btrfs size=1GiB: a mounted loop file, shown as LXD shows it', async () => {
    await ok(['storage', 'create', 'bp', 'btrfs', 'size=1GiB']);
    const show = parseYaml(await ok(['storage', 'show', 'bp'])) as { driver: string; config: Record<string, string> };
    assert.equal(show.driver, 'btrfs');
    assert.deepEqual(show.config, { size: '1GiB', source: loopFile() });
    assert.equal(statSync(loopFile()).size, 1024 ** 3);
    assert.equal(statfsSync(mount()).type, BTRFS_MAGIC);
    const info = parseYaml(await ok(['storage', 'info', 'bp'])) as { info: Record<string, string> };
    assert.equal(info.info['driver'], 'btrfs');
    assert.match(info.info['total space'] ?? '', /^(1\.00GiB|10[0-9]{2}\.[0-9]+MiB|9[0-9]{2}\.[0-9]+MiB)$/);
  });

  test('launch on btrfs: the instance is a subvolume cloned from the image subvolume; snapshot and restore', async () => {
    await ok(['launch', 'busybox', 'b1', '-s', 'bp']);
    assert.equal((await ok(['exec', 'b1', '--', 'cat', '/proc/1/comm'])).trim(), 'init');
    assert.ok(isSubvolume(join(mount(), 'containers', 'b1')));
    const data = randomBytes(128 * 1024).toString('base64');
    await ok(['exec', 'b1', '--', 'sh', '-c', 'cat > /root/data'], data);
    const before = await sha('b1', '/root/data');
    assert.equal(before, createHash('sha256').update(data).digest('hex'));
    await ok(['snapshot', 'b1', 'snap0']);
    const snap = join(mount(), 'containers-snapshots', 'b1', 'snap0');
    assert.ok(isSubvolume(snap));
    assert.equal(execFileSync('btrfs', ['property', 'get', '-ts', snap, 'ro'], { encoding: 'utf8' }).trim(), 'ro=true');
    await ok(['exec', 'b1', '--', 'sh', '-c', 'echo changed > /root/data; touch /root/new']);
    await ok(['restore', 'b1', 'snap0']);
    assert.equal(await sha('b1', '/root/data'), before);
    assert.equal((await d.lxc(['exec', 'b1', '--', 'test', '-e', '/root/new'])).code, 1);
    assert.ok(isSubvolume(join(mount(), 'containers', 'b1')));

    await ok(['copy', 'b1/snap0', 'b2']);
    assert.ok(isSubvolume(join(mount(), 'containers', 'b2')));
    await ok(['start', 'b2']);
    assert.equal(await sha('b2', '/root/data'), before);
  });

  test('copy --refresh moves only what changed (bytes in the operation), adds the new snapshot, keeps the rest', async () => {
    await ok(['exec', 'b1', '--', 'dd', 'if=/dev/urandom', 'of=/root/bulk', 'bs=1M', 'count=8']);
    await ok(['exec', 'b1', '--', 'touch', '/root/gone']);
    await ok(['copy', 'b1', 'b3']);
    const bulk = await sha('b1', '/root/bulk');
    await ok(['exec', 'b1', '--', 'dd', 'if=/dev/urandom', 'of=/root/delta', 'bs=1K', 'count=64']);
    await ok(['exec', 'b1', '--', 'rm', '/root/gone']);
    await ok(['snapshot', 'b1', 'after']);
    await ok(['copy', 'b1', 'b3', '--refresh']);
    const ops = JSON.parse(await ok(['query', '/1.0/operations?recursion=1'])) as { success?: { metadata: { refresh?: { bytes_transferred: number; snapshots_copied: number } } | null }[] };
    const refresh = (ops.success ?? []).map((o) => o.metadata?.refresh).find((r) => r !== undefined);
    assert.ok(refresh, 'the refresh reports what it moved');
    assert.ok(refresh.bytes_transferred >= 64 * 1024 && refresh.bytes_transferred < 1024 * 1024, `moved ${refresh.bytes_transferred} bytes, not the 8 MiB file`);
    assert.equal(refresh.snapshots_copied, 1);
    await ok(['start', 'b3']);
    assert.equal(await sha('b3', '/root/delta'), await sha('b1', '/root/delta'));
    assert.equal(await sha('b3', '/root/bulk'), bulk);
    assert.equal((await d.lxc(['exec', 'b3', '--', 'test', '-e', '/root/gone'])).code, 1, 'a file deleted at the source is deleted');
    assert.match(await ok(['info', 'b3']), /\| after /);
    assert.ok(isSubvolume(join(mount(), 'containers-snapshots', 'b3', 'after')));
    await fails(['copy', 'b1', 'b3', '--refresh'], /running/);
    await ok(['delete', '--force', 'b3']);
  });

  test('a root size quota: writes past it fail with EDQUOT, in the container and after a restore', async () => {
    // b2 came from a snapshot of b1, whose root disk is its own device (launched with -s).
    await ok(['config', 'device', 'set', 'b2', 'root', 'size=40MiB']);
    const limit = () => execFileSync('btrfs', ['qgroup', 'show', '-re', '--raw', mount()], { encoding: 'utf8' });
    assert.match(limit(), new RegExp(`\\s${40 * 1024 * 1024}\\s.*containers/b2\\n`));
    await ok(['snapshot', 'b2', 'q']);
    await ok(['restore', 'b2', 'q']);
    assert.match(limit(), new RegExp(`\\s${40 * 1024 * 1024}\\s.*containers/b2\\n`), 'the restored subvolume has the limit too');
    const dd = await d.lxc(['exec', 'b2', '--', 'dd', 'if=/dev/zero', 'of=/root/big', 'bs=1M', 'count=80'], { timeoutMs: 120_000 });
    assert.notEqual(dd.code, 0, describeRun(dd));
    assert.match(dd.stderr, /Disk quota exceeded/);
    await ok(['exec', 'b2', '--', 'rm', '/root/big']);
    await ok(['config', 'device', 'set', 'b2', 'root', 'size=100MiB']);
    const dd2 = await d.lxc(['exec', 'b2', '--', 'dd', 'if=/dev/zero', 'of=/root/big', 'bs=1M', 'count=60'], { timeoutMs: 120_000 });
    assert.equal(dd2.code, 0, describeRun(dd2));
    await ok(['exec', 'b2', '--', 'rm', '/root/big']);
    await fails(['config', 'device', 'set', 'b2', 'root', 'size=big'], /size/i);
  });

  test('export and import round-trip the files and the snapshots as subvolumes', async () => {
    const file = join(work, 'b1.tar.gz');
    const before = await sha('b1', '/root/data');
    await ok(['export', 'b1', file]);
    await ok(['delete', '--force', 'b1']);
    assert.ok(!existsSync(join(mount(), 'containers', 'b1')));
    assert.ok(!existsSync(join(mount(), 'containers-snapshots', 'b1')));

    // A create that fails midway (the tarball ends inside the rootfs) leaves no subvolume, directory or row.
    const cut = join(work, 'cut.tar');
    execFileSync('sh', ['-c', `gzip -dc '${file}' | head -c ${4 * 1024 * 1024} > '${cut}'`]);
    const before1 = subvolumes();
    const r = await d.lxc(['import', cut, '--storage', 'bp'], { timeoutMs: 120_000 });
    assert.notEqual(r.code, 0, describeRun(r));
    assert.deepEqual(subvolumes(), before1);
    assert.ok(!existsSync(join(mount(), 'containers', 'b1')) && !existsSync(join(mount(), 'containers-snapshots', 'b1')));
    assert.deepEqual(readdirSync(join(mount(), 'containers')).filter((e) => e.includes('b1')), [], 'no staging left');
    assert.doesNotMatch(await ok(['list', '-c', 'n', '-f', 'csv']), /^b1$/m);

    await ok(['import', file, '--storage', 'bp']);
    assert.ok(isSubvolume(join(mount(), 'containers', 'b1')));
    assert.ok(isSubvolume(join(mount(), 'containers-snapshots', 'b1', 'snap0')));
    await ok(['start', 'b1']);
    assert.equal(await sha('b1', '/root/data'), before);
    assert.match(await ok(['info', 'b1']), /\| snap0 /);

    // --optimized-storage: btrfs send streams in LXD's layout, received back into subvolumes.
    const opt = join(work, 'b1-optimized.tar.gz');
    await ok(['export', 'b1', opt, '--optimized-storage']);
    const listing = execFileSync('tar', ['-tzf', opt], { encoding: 'utf8' }).trim().split('\n');
    assert.deepEqual(listing.slice(0, 2), ['backup/index.yaml', 'backup/optimized_header.yaml']);
    assert.ok(listing.includes('backup/snapshots/snap0.bin') && listing.at(-1) === 'backup/container.bin', listing.join(' '));
    await ok(['delete', '--force', 'b1']);
    await ok(['import', opt, '--storage', 'bp']);
    assert.ok(isSubvolume(join(mount(), 'containers', 'b1')));
    assert.equal(execFileSync('btrfs', ['property', 'get', '-ts', join(mount(), 'containers-snapshots', 'b1', 'snap0'), 'ro'], { encoding: 'utf8' }).trim(), 'ro=true');
    await ok(['start', 'b1']);
    assert.equal(await sha('b1', '/root/data'), before);
    assert.match(await ok(['exec', 'b1', '--', 'ls', '-ln', '/root/data']), /\s0\s+0\s/, 'owned by the container\'s root again');
    await ok(['restore', 'b1', 'snap0']);
    await fails(['import', opt, 'b9', '--storage', 'default'], /only be imported into a btrfs pool/);
    await fails(['export', 'b9-none', join(work, 'x.tar.gz'), '--optimized-storage'], /not found/i);
  });

  test('a pool in use cannot be deleted; deleting instances removes their subvolumes; then the pool goes', async () => {
    await fails(['storage', 'delete', 'bp'], /in use/);
    assert.ok(existsSync(loopFile()));
    await ok(['delete', '--force', 'b1']);
    await ok(['delete', '--force', 'b2']);
    assert.deepEqual(
      subvolumes().filter((s) => !s.startsWith('images/')),
      [],
    );
    await ok(['storage', 'delete', 'bp']);
    assert.ok(!existsSync(loopFile()));
    assert.ok(!existsSync(mount()));
    assert.ok(!readFileSync('/proc/self/mountinfo', 'utf8').includes(mount()));
  });
});
