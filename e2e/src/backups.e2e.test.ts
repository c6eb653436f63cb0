// Instance backups through the real `lxc` client on a dir pool: `lxc export` (LXD's tarball layout, compressions,
// --instance-only) and `lxc import` (contents and snapshots come back, under the same or another name); bad
// tarballs, taken names and optimized exports are refused and leave nothing behind.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { TestDaemon, busyboxImageDir, describeRun, makeTempDir, run } from './harness/index.js';

const isRoot = process.getuid?.() === 0;
const haveLxc = existsSync('/usr/bin/lxc-start');

describe('instance backups on dir (real containers)', { skip: !isRoot || !haveLxc ? 'needs root and liblxc (lxc-start)' : false }, () => {
  let d: TestDaemon;
  let out = '';
  const ok = async (args: string[], input?: string) => {
    const r = await d.lxc(args, { timeoutMs: 180_000, ...(input === undefined ? {} : { input }) });
    assert.equal(r.code, 0, describeRun(r));
    return r.stdout;
  };
  const fails = async (args: string[], message: RegExp) => {
    const r = await d.lxc(args, { timeoutMs: 60_000 });
    assert.notEqual(r.code, 0, describeRun(r));
    assert.match(r.stderr, message);
  };
  const sha = async (name: string, path: string) => (await ok(['exec', name, '--', 'sha256sum', path])).split(' ')[0];
  const names = async () => (await ok(['list', '-c', 'n', '-f', 'csv'])).trim().split('\n').filter(Boolean).sort();
  const volumes = () => readdirSync(join(d.lxdDir, 'storage-pools', 'default', 'containers')).filter((n) => !n.startsWith('.')).sort();
  let snapSha = '';
  let liveSha = '';

  before(async () => {
    d = await TestDaemon.start();
    const init = await d.cli(['init', '--auto']);
    assert.equal(init.code, 0, describeRun(init));
    await ok(['image', 'import', join(await busyboxImageDir(), 'busybox.tar.xz'), '--alias', 'busybox']);
    await ok(['launch', 'busybox', 'b1']);
    await ok(['exec', 'b1', '--', 'sh', '-c', 'cat > /root/data'], randomBytes(300 * 1024).toString('base64'));
    snapSha = await sha('b1', '/root/data');
    await ok(['snapshot', 'b1', 'before']);
    await ok(['exec', 'b1', '--', 'sh', '-c', 'echo changed >> /root/data']);
    liveSha = await sha('b1', '/root/data');
    out = makeTempDir('backups');
  });
  after(async () => {
    if (d) {
      for (const name of await names().catch(() => [] as string[])) await d.lxc(['delete', '--force', name]);
      await d.dispose();
    }
  });

  test('lxc export: LXD\'s layout (index.yaml, snapshots, container with backup.yaml); the backup is removed after the download', async () => {
    await ok(['export', 'b1', join(out, 'b1.tar.gz')]);
    const listing = await run('tar', ['-tzf', join(out, 'b1.tar.gz')]);
    const entries = listing.stdout.split('\n').filter((l) => l && !l.includes('/rootfs/'));
    assert.equal(entries[0], 'backup/index.yaml');
    for (const e of ['backup/snapshots/before/metadata.yaml', 'backup/container/metadata.yaml', 'backup/container/backup.yaml']) assert.ok(entries.includes(e), e);
    assert.ok(entries.findIndex((e) => e.startsWith('backup/snapshots/')) < entries.findIndex((e) => e.startsWith('backup/container/')));
    const index = (await run('tar', ['-xzOf', join(out, 'b1.tar.gz'), 'backup/index.yaml'])).stdout;
    assert.match(index, /^name: b1$/m);
    assert.match(index, /^backend: dir$/m);
    assert.match(index, /^snapshots:\n {2}- before$/m);
    assert.deepEqual((await d.client.query('/1.0/instances/b1/backups')).json, []);
    // Stored as LXD stores an unprivileged container: owners shifted by the id map (container root = host 1000000).
    const owners = (await run('tar', ['-tvzf', join(out, 'b1.tar.gz'), '--numeric-owner', 'backup/container/rootfs/root'])).stdout;
    assert.match(owners, /^d\S+ 1000000\/1000000 .* backup\/container\/rootfs\/root\/?$/m);
  });

  test('lxc import: the same contents and snapshots, under another name; stopped', async () => {
    await ok(['import', join(out, 'b1.tar.gz'), 'b2']);
    assert.equal((await ok(['list', 'b2', '-c', 'ns', '-f', 'csv'])).trim(), 'b2,STOPPED');
    await ok(['start', 'b2']);
    assert.equal(await sha('b2', '/root/data'), liveSha);
    assert.match(await ok(['info', 'b2']), /\| before /);
    await ok(['restore', 'b2', 'before']);
    assert.equal(await sha('b2', '/root/data'), snapSha);
    // Owned by the container's root, as in the original.
    assert.equal((await ok(['exec', 'b2', '--', 'stat', '-c', '%u:%g', '/root/data'])).trim(), '0:0');
  });

  test('--instance-only and other compressions; the backups API', async () => {
    await ok(['export', 'b1', join(out, 'b1.tar.xz'), '--instance-only', '--compression', 'xz']);
    assert.equal(readFileSync(join(out, 'b1.tar.xz')).subarray(0, 6).toString('hex'), 'fd377a585a00');
    const listing = (await run('tar', ['-tJf', join(out, 'b1.tar.xz')])).stdout;
    assert.ok(!listing.includes('backup/snapshots/'));
    await ok(['delete', '--force', 'b1']);
    await ok(['import', join(out, 'b1.tar.xz')]);
    assert.deepEqual((await d.client.query('/1.0/instances/b1/snapshots')).json, []);

    await ok(['query', '--wait', '-X', 'POST', '/1.0/instances/b1/backups', '--data', JSON.stringify({ name: 'kept', compression_algorithm: 'none' })]);
    const backup = (await d.client.query('/1.0/instances/b1/backups/kept')).json as { name: string; instance_only: boolean };
    assert.deepEqual([backup.name, backup.instance_only], ['kept', false]);
    assert.ok(existsSync(join(d.lxdDir, 'backups', 'instances', 'b1', 'kept')));
    await ok(['query', '--wait', '-X', 'DELETE', '/1.0/instances/b1/backups/kept']);
    assert.ok(!existsSync(join(d.lxdDir, 'backups', 'instances', 'b1', 'kept')));
  });

  test('refusals leave nothing behind: a bad tarball, a taken name, an optimized export, an unknown backup', async () => {
    const before = [await names(), volumes()];
    writeFileSync(join(out, 'garbage.tar.gz'), 'not a tarball');
    await fails(['import', join(out, 'garbage.tar.gz'), 'junk'], /Invalid backup file/);
    await fails(['import', join(out, 'b1.tar.gz'), 'b2'], /already exists/);
    await fails(['export', 'b1', join(out, 'opt.tar.gz'), '--optimized-storage'], /Optimized backups are not supported/);
    await fails(['query', '/1.0/instances/b1/backups/nope'], /Instance backup not found/);
    assert.deepEqual([await names(), volumes()], before);
    assert.deepEqual(readdirSync(join(d.lxdDir, 'backups')).filter((n) => n.startsWith('.import')), []);
  });
});
