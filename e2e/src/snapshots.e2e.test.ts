// Instance snapshots on a dir pool through the real `lxc` client: snapshot, change a file, restore (running and
// stopped), list in `lxc info` and `lxc list`, rename, delete; stateful and bad names refused; an instance's
// rename and delete take its snapshots along; expired snapshots go and `snapshots.schedule` takes new ones (the
// daemon checks every second here: LXDTS_SNAPSHOT_TICK_MS).
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { TestDaemon, busyboxImageDir, describeRun } from './harness/index.js';

const isRoot = process.getuid?.() === 0;
const haveLxc = existsSync('/usr/bin/lxc-start');

describe('instance snapshots on dir (real containers)', { skip: !isRoot || !haveLxc ? 'needs root and liblxc (lxc-start)' : false }, () => {
  let d: TestDaemon;
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
  const snapshotsDir = (name: string) => join(d.lxdDir, 'storage-pools', 'default', 'containers-snapshots', name);
  const sha = async (name: string, path: string) => (await ok(['exec', name, '--', 'sha256sum', path])).split(' ')[0];
  // Rows of one instance only: `sched` takes scheduled snapshots meanwhile.
  const snapshotRows = async (name = 's1') =>
    (await d.cli(['sql', 'global', `SELECT count(*) AS n FROM instances_snapshots JOIN instances ON instances.id = instance_id WHERE instances.name = '${name}'`])).stdout;

  before(async () => {
    d = await TestDaemon.start({ env: { LXDTS_SNAPSHOT_TICK_MS: '1000' } });
    const init = await d.cli(['init', '--auto']);
    assert.equal(init.code, 0, describeRun(init));
    await ok(['image', 'import', join(await busyboxImageDir(), 'busybox.tar.xz'), '--alias', 'busybox']);
    await ok(['launch', 'busybox', 's1']);
    // Scheduled every minute (stopped instances too), expiring after an hour: checked by the last test.
    await ok(['init', 'busybox', 'sched', '-c', 'snapshots.schedule=* * * * *', '-c', 'snapshots.schedule.stopped=true', '-c', 'snapshots.expiry=1H']);
  });
  after(async () => {
    if (d) {
      for (const name of ['s1', 's2', 'sched', 'boot']) await d.lxc(['delete', '--force', name]);
      await d.dispose();
    }
  });

  test('snapshot, change, restore a running container: the content is back and it runs again', async () => {
    const data = randomBytes(256 * 1024).toString('base64');
    await ok(['exec', 's1', '--', 'sh', '-c', 'cat > /root/data'], data);
    const before = await sha('s1', '/root/data');
    assert.equal(before, createHash('sha256').update(data).digest('hex'));
    await ok(['snapshot', 's1']);
    await ok(['snapshot', 's1', 'second']);
    await ok(['exec', 's1', '--', 'sh', '-c', 'echo changed > /root/data; touch /root/new-file']);
    assert.notEqual(await sha('s1', '/root/data'), before);

    const info = await ok(['info', 's1']);
    assert.match(info, /Snapshots:/);
    assert.match(info, /\| snap0 /);
    assert.match(info, /\| second /);
    assert.equal((await ok(['list', 's1', '-c', 'nS', '-f', 'csv'])).trim(), 's1,2');
    assert.deepEqual(readdirSync(snapshotsDir('s1')).sort(), ['second', 'snap0']);

    await ok(['restore', 's1', 'snap0']);
    assert.equal(await sha('s1', '/root/data'), before);
    assert.equal((await d.lxc(['exec', 's1', '--', 'test', '-e', '/root/new-file'])).code, 1, 'files made after the snapshot are gone');
    assert.equal((await ok(['list', 's1', '-c', 'ns', '-f', 'csv'])).trim(), 's1,RUNNING');
  });

  test('restore of a stopped container keeps it stopped; snapshot config comes back', async () => {
    await ok(['config', 'set', 's1', 'user.marker=before']);
    await ok(['snapshot', 's1', 'with-marker']);
    await ok(['config', 'set', 's1', 'user.marker=after']);
    await ok(['stop', '--force', 's1']);
    await ok(['restore', 's1', 'with-marker']);
    assert.equal((await ok(['config', 'get', 's1', 'user.marker'])).trim(), 'before');
    assert.equal((await ok(['list', 's1', '-c', 'ns', '-f', 'csv'])).trim(), 's1,STOPPED');
    await ok(['start', 's1']);
  });

  test('rename and delete a snapshot; refusals change nothing', async () => {
    await ok(['rename', 's1/second', 's1/renamed']);
    const urls = (await d.client.query('/1.0/instances/s1/snapshots')).json as string[];
    assert.deepEqual(urls.sort(), ['/1.0/instances/s1/snapshots/renamed', '/1.0/instances/s1/snapshots/snap0', '/1.0/instances/s1/snapshots/with-marker']);
    await ok(['delete', 's1/renamed']);
    assert.ok(!existsSync(join(snapshotsDir('s1'), 'renamed')));
    assert.ok(!existsSync(join(snapshotsDir('s1'), 'second')));

    const rows = await snapshotRows();
    await fails(['snapshot', 's1', '--stateful'], /CRIU/);
    await fails(['snapshot', 's1', 'snap0'], /already exists/);
    await fails(['snapshot', 's1', 'bad name'], /Invalid snapshot name/);
    await fails(['restore', 's1', 'nope'], /not found/);
    // A restricted project that blocks snapshots (projects_restricted_backups_and_snapshots).
    await ok(['project', 'set', 'default', 'restricted=true', 'restricted.snapshots=block']);
    try {
      await fails(['snapshot', 's1', 'blocked'], /doesn't allow for snapshots/);
    } finally {
      await ok(['project', 'unset', 'default', 'restricted.snapshots']);
      await ok(['project', 'unset', 'default', 'restricted']);
    }
    await fails(['query', '/1.0/instances/s1/snapshots/nope'], /Instance snapshot not found/);
    assert.equal(await snapshotRows(), rows);
    assert.deepEqual(readdirSync(snapshotsDir('s1')).sort(), ['snap0', 'with-marker']);
  });

  test('lxc copy: from a snapshot (its files), with the snapshots, and --instance-only without them', async () => {
    const snapData = await sha('s1', '/root/data');
    await ok(['exec', 's1', '--', 'sh', '-c', 'echo after-snapshot > /root/data']);
    await ok(['copy', 's1/snap0', 'c-from-snap']);
    await ok(['start', 'c-from-snap']);
    assert.equal(await sha('c-from-snap', '/root/data'), snapData);
    assert.equal(((await d.client.query('/1.0/instances/c-from-snap/snapshots')).json as string[]).length, 0);
    await ok(['copy', 's1', 'c-with-snaps']);
    assert.deepEqual(readdirSync(snapshotsDir('c-with-snaps')).sort(), ['snap0', 'with-marker']);
    await ok(['restore', 'c-with-snaps', 'snap0']);
    await ok(['start', 'c-with-snaps']);
    assert.equal(await sha('c-with-snaps', '/root/data'), snapData);
    await ok(['copy', 's1', 'c-only', '--instance-only']);
    assert.ok(!existsSync(snapshotsDir('c-only')));
    await fails(['copy', 's1/nope', 'c-none'], /not found/);
    assert.equal((await d.lxc(['info', 'c-none'])).code, 1);
    for (const name of ['c-from-snap', 'c-with-snaps', 'c-only']) await ok(['delete', '--force', name]);
    assert.ok(!existsSync(snapshotsDir('c-with-snaps')));
  });

  test('renaming the instance moves its snapshots; deleting it removes them', async () => {
    await ok(['stop', '--force', 's1']);
    await ok(['rename', 's1', 's2']);
    assert.ok(!existsSync(snapshotsDir('s1')));
    assert.deepEqual(readdirSync(snapshotsDir('s2')).sort(), ['snap0', 'with-marker']);
    assert.match(await ok(['info', 's2']), /\| with-marker /);
    await ok(['delete', 's2']);
    assert.ok(!existsSync(snapshotsDir('s2')));
    // No snapshot row is left but those of `sched`.
    const rest = await d.cli(['sql', 'global', "SELECT count(*) AS n FROM instances_snapshots JOIN instances ON instances.id = instance_id WHERE instances.name <> 'sched'"]);
    assert.match(rest.stdout, /\| 0 +\|/);
  });

  test('an expired snapshot is removed; snapshots.schedule takes snap0 within a minute, with snapshots.expiry', async () => {
    const soon = new Date(Date.now() + 2_000).toISOString();
    await ok(['query', '--wait', '-X', 'POST', '/1.0/instances/sched/snapshots', '--data', JSON.stringify({ name: 'short-lived', expires_at: soon })]);
    assert.ok(existsSync(join(snapshotsDir('sched'), 'short-lived')));
    const deadline = Date.now() + 75_000;
    let names: string[] = [];
    while (Date.now() < deadline) {
      names = ((await d.client.query('/1.0/instances/sched/snapshots')).json as string[]).map((u) => u.split('/').pop() as string);
      if (names.includes('snap0') && !names.includes('short-lived')) break;
      await new Promise((r) => setTimeout(r, 1_000));
    }
    // snap0 (and, on a slow run that crossed another minute, snap1 ...), and no short-lived any more.
    assert.ok(names.includes('snap0') && names.every((n) => /^snap\d+$/.test(n)), JSON.stringify(names));
    assert.ok(!existsSync(join(snapshotsDir('sched'), 'short-lived')));
    const snap = (await d.client.query('/1.0/instances/sched/snapshots/snap0')).json as { expires_at: string; created_at: string };
    const lifetime = Date.parse(snap.expires_at) - Date.parse(snap.created_at);
    assert.ok(Math.abs(lifetime - 3_600_000) < 60_000, `expires an hour after it was taken: ${JSON.stringify(snap)}`);
    // By hand: snapshots.expiry applies too, unless --no-expiry.
    await ok(['snapshot', 'sched', 'manual', '--no-expiry']);
    await ok(['snapshot', 'sched', 'defaulted']);
    const expires = async (n: string) => ((await d.client.query(`/1.0/instances/sched/snapshots/${n}`)).json as { expires_at: string }).expires_at;
    assert.equal(await expires('manual'), '0001-01-01T00:00:00Z');
    assert.notEqual(await expires('defaulted'), '0001-01-01T00:00:00Z');
  });

  test('snapshots.schedule=@startup: a snapshot each time the instance starts', async () => {
    await ok(['init', 'busybox', 'boot', '-c', 'snapshots.schedule=@startup', '-c', 'snapshots.pattern=boot-%d']);
    const names = async () => ((await d.client.query('/1.0/instances/boot/snapshots')).json as string[]).map((u) => u.split('/').pop() as string);
    assert.deepEqual(await names(), []);
    const waitFor = async (want: string[]) => {
      const deadline = Date.now() + 30_000;
      let got: string[] = [];
      while (Date.now() < deadline) {
        got = (await names()).sort();
        if (JSON.stringify(got) === JSON.stringify(want)) return;
        await new Promise((r) => setTimeout(r, 250));
      }
      assert.deepEqual(got, want);
    };
    await ok(['start', 'boot']);
    await waitFor(['boot-0']);
    await ok(['restart', '--force', 'boot']);
    await waitFor(['boot-0', 'boot-1']);
    await ok(['delete', '--force', 'boot']);
  });
});
