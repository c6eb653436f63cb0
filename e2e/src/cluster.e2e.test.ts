// Clustering with the real `lxc` client: three lxdts daemons, each in its own network namespace, form a cluster
// (`lxc cluster enable`, tokens from `lxc cluster add`, joins with `lxdts init --preseed`), share one dqlite
// database through their HTTPS, and keep every acknowledged write when the leader dies.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { readlinkSync } from 'node:fs';
import { join as joinPath } from 'node:path';
import {
  type ClusterMember,
  TestCluster,
  busyboxImageDir,
  clusterMembers,
  describeRun,
  eventually,
  joinCluster,
  lxcOk,
  netnsUnavailableReason,
  unixRequest,
} from './harness/index.js';

const unavailable = await netnsUnavailableReason();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));


describe('cluster of three (dqlite through HTTPS)', { skip: unavailable ?? false }, () => {
  let cluster: TestCluster;
  /** member2's join token, kept to try it again. */
  let usedToken = '';
  const m = (i: number): ClusterMember => cluster.member(i);
  const ok = lxcOk;
  const members = clusterMembers;
  const join = async (i: number, via: number) => {
    const token = await joinCluster(m(via), m(i));
    if (i === 2) usedToken = token;
  };

  before(async () => {
    cluster = await TestCluster.start(3, { https: true });
  });
  after(async () => {
    await cluster?.dispose();
  });

  test('lxc cluster enable turns member1 into a one-member cluster and keeps its data', async () => {
    const init = await m(1).cli(['init', '--auto']);
    assert.equal(init.code, 0, describeRun(init));
    await ok(m(1), ['profile', 'create', 'before-cluster']);
    await ok(m(1), ['project', 'create', 'proj-before']);
    await ok(m(1), ['image', 'import', joinPath(await busyboxImageDir(), 'busybox.tar.xz'), '--alias', 'busybox']);
    await ok(m(1), ['launch', 'busybox', 'c1']);
    await ok(m(1), ['cluster', 'enable', m(1).name]);
    // Everything is still there, now read from dqlite; the container kept running and still obeys.
    assert.match(await ok(m(1), ['project', 'list', '--format', 'csv']), /proj-before/);
    assert.match(await ok(m(1), ['image', 'list', '--format', 'csv']), /busybox/);
    assert.match(await ok(m(1), ['list', '--format', 'csv', '-c', 'ns']), /^c1,RUNNING$/m);
    assert.equal((await ok(m(1), ['exec', 'c1', '--', 'cat', '/proc/1/comm'])).trim(), 'init');
    await ok(m(1), ['delete', '--force', 'c1']);
    const info = JSON.parse(await ok(m(1), ['query', '/1.0'])) as { environment: { server_clustered: boolean; server_name: string } };
    assert.equal(info.environment.server_clustered, true);
    assert.equal(info.environment.server_name, m(1).name);
    const list = await members(m(1));
    assert.deepEqual(list.map((x) => [x.server_name, x.url, x.roles, x.status]), [[m(1).name, `https://${m(1).httpsAddress}`, ['database-leader', 'database'], 'Online']]);
    assert.match(await ok(m(1), ['profile', 'list', '--format', 'csv']), /before-cluster/);
  });

  test('two joins with tokens: three members ONLINE, three voters, one leader, one database', async () => {
    await join(2, 1);
    await join(3, 2);
    await eventually('three voters', async () => (await members(m(1))).filter((x) => x.database).length === 3);
    for (const i of [1, 2, 3]) {
      const list = await members(m(i));
      assert.deepEqual(list.map((x) => x.server_name), [m(1).name, m(2).name, m(3).name]);
      assert.ok(list.every((x) => x.status === 'Online'), JSON.stringify(list));
      assert.equal(list.filter((x) => x.roles.includes('database-leader')).length, 1);
    }
    const table = await ok(m(3), ['cluster', 'list']);
    assert.match(table, /database-leader/);
    // A write through any member is visible through every member.
    await ok(m(2), ['profile', 'create', 'from-member2']);
    await ok(m(3), ['profile', 'set', 'from-member2', 'user.x', 'y']);
    for (const i of [1, 2, 3]) assert.equal((await ok(m(i), ['profile', 'get', 'from-member2', 'user.x'])).trim(), 'y');
  });

  test('any member serves requests about an instance another member holds', async () => {
    // Launched through member1 onto member2: the request is passed on, member2 copies the image from member1.
    await ok(m(1), ['launch', 'busybox', 'c2', '--target', m(2).name]);
    const listed = (await ok(m(3), ['list', '--format', 'csv', '-c', 'nsL'])).trim();
    assert.match(listed, new RegExp(`^c2,RUNNING,${m(2).name}$`, 'm'));
    // It really runs on member2's host side: its init is in member2's network namespace (the daemon's).
    const state = JSON.parse(await ok(m(3), ['query', '/1.0/instances/c2/state'])) as { pid: number };
    assert.ok(state.pid > 0);
    assert.equal(readlinkSync(`/proc/${m(2).pid}/ns/net`), readlinkSync(`/proc/${m(2).pid}/ns/net`));
    assert.equal((await ok(m(1), ['exec', 'c2', '--', 'cat', '/proc/1/comm'])).trim(), 'init');
    const echo = await m(3).lxc(['exec', 'c2', '--', 'sh', '-c', 'exit 7']);
    assert.equal(echo.code, 7, describeRun(echo));
    await ok(m(3), ['stop', '--force', 'c2']);
    assert.match((await ok(m(1), ['list', '--format', 'csv', '-c', 'ns'])).trim(), /^c2,STOPPED$/m);
    await ok(m(1), ['delete', 'c2']);
    assert.doesNotMatch(await ok(m(2), ['list', '--format', 'csv', '-c', 'n']), /c2/);
  });

  test('events of every member reach a client of any member (full mesh)', async () => {
    const monitor = m(1).client.spawnBackground(['monitor', '--type=lifecycle', '--format=json']);
    try {
      // The relay connects within a second of a member joining; give the monitor a moment to subscribe too.
      await sleep(1500);
      await ok(m(3), ['profile', 'create', 'seen-everywhere']);
      await eventually("member3's lifecycle event on member1", async () => monitor.stdout.includes('seen-everywhere'), 10_000);
      const line = monitor.stdout.split('\n').find((l) => l.includes('seen-everywhere') && l.includes('profile-created'));
      assert.ok(line, monitor.stdout);
      assert.equal((JSON.parse(line) as { location: string }).location, m(3).name);
    } finally {
      await monitor.stop();
    }
  });

  test('lxc cluster update-certificate replaces the cluster certificate on every member', async () => {
    const dir = `/tmp/lxdts-e2e-newcert-${process.pid}`;
    const gen = await m(1).exec('sh', ['-c', `mkdir -p ${dir} && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:secp384r1 -nodes -days 30 -subj /CN=lxdts-cluster -keyout ${dir}/cluster.key -out ${dir}/cluster.crt 2>/dev/null && openssl x509 -in ${dir}/cluster.crt -outform der | sha256sum`]);
    assert.equal(gen.code, 0, describeRun(gen));
    const fingerprint = gen.stdout.split(' ')[0]!;
    try {
      await ok(m(2), ['cluster', 'update-certificate', `${dir}/cluster.crt`, `${dir}/cluster.key`]);
      for (const i of [1, 2, 3]) {
        const info = JSON.parse(await ok(m(i), ['query', '/1.0'])) as { environment: { certificate_fingerprint: string } };
        assert.equal(info.environment.certificate_fingerprint, fingerprint, `${m(i).name} presents the new certificate`);
      }
      // Members keep talking to each other (heartbeats, the database) with the new certificate.
      await ok(m(3), ['profile', 'create', 'after-new-cert']);
      await sleep(2500);
      assert.ok((await members(m(1))).every((x) => x.status === 'Online'));
    } finally {
      await m(1).exec('rm', ['-rf', dir]);
    }
  });

  test('a reused, wrong or revoked token is refused', async () => {
    // Reused: member2's token was consumed by its join.
    const used = JSON.parse(Buffer.from(usedToken, 'base64').toString()) as { addresses: string[]; secret: string };
    const again = await m(1).exec('curl', ['-sk', '-X', 'POST', `https://${used.addresses[0]}/internal/cluster/accept`, '-d', JSON.stringify({ server_name: m(2).name, address: '10.0.0.8:8443', secret: used.secret, architecture: 'x86_64' })]);
    assert.match(again.stdout, /No matching cluster join token found/);
    const token = (await ok(m(1), ['cluster', 'add', 'member9', '--quiet'])).trim();
    assert.match(await ok(m(2), ['cluster', 'list-tokens', '--format', 'csv']), /member9/);
    await ok(m(3), ['cluster', 'revoke-token', 'member9']);
    assert.doesNotMatch(await ok(m(1), ['cluster', 'list-tokens', '--format', 'csv']), /member9/);
    const decoded = JSON.parse(Buffer.from(token, 'base64').toString()) as { addresses: string[]; secret: string };
    const r = await m(1).exec('curl', ['-sk', '-X', 'POST', `https://${decoded.addresses[0]}/internal/cluster/accept`, '-d', JSON.stringify({ server_name: 'member9', address: '10.0.0.9:8443', secret: decoded.secret, architecture: 'x86_64' })]);
    assert.match(r.stdout, /No matching cluster join token found/);
    assert.equal((await members(m(1))).length, 3);
  });

  test('SIGKILL of the leader: writes through the survivors resume, every acknowledged write survives, the member rejoins', async () => {
    const leaderName = (await members(m(1))).find((x) => x.roles.includes('database-leader'))!.server_name;
    const leader = cluster.members.find((x) => x.name === leaderName)!;
    const survivors = cluster.members.filter((x) => x !== leader);
    // Writer: one profile per write, alternating between the survivors, each acknowledged one recorded.
    const acked: string[] = [];
    const failures: { at: number; error: string }[] = [];
    let stop = false;
    let killedAt = 0;
    let firstAfterKill = 0;
    const writer = (async () => {
      for (let i = 0; !stop; i++) {
        const via = survivors[i % survivors.length]!;
        const name = `w${i}`;
        const r = await unixRequest(via.daemon.socket, { method: 'POST', path: '/1.0/profiles', body: { name, config: {}, devices: {} }, timeoutMs: 30_000 });
        if (r.status === 201) {
          acked.push(name);
          if (killedAt && !firstAfterKill) firstAfterKill = Date.now();
        } else failures.push({ at: Date.now(), error: r.error ?? `${r.status} ${r.json?.error ?? r.text}` });
        await sleep(20);
      }
    })();
    await sleep(600);
    killedAt = Date.now();
    await leader.kill('SIGKILL');
    await eventually('a write after the kill', async () => firstAfterKill > 0, 30_000);
    await sleep(300);
    stop = true;
    await writer;
    const gapMs = firstAfterKill - killedAt;
    console.log(`# failover: first acknowledged write ${gapMs} ms after SIGKILL of ${leaderName}; ${acked.length} acknowledged, ${failures.length} failed`);
    const names = new Set((JSON.parse(await ok(survivors[0]!, ['query', '/1.0/profiles'])) as string[]).map((u) => u.split('/').pop()));
    for (const a of acked) assert.ok(names.has(a), `acknowledged write ${a} is there`);
    // The dead member is shown OFFLINE, then comes back and catches up.
    await eventually(`${leaderName} OFFLINE`, async () => (await members(survivors[0]!)).find((x) => x.server_name === leaderName)?.status === 'Offline');
    await leader.restart();
    await eventually(`${leaderName} back ONLINE`, async () => (await members(survivors[1]!)).every((x) => x.status === 'Online'), 30_000);
    const seen = new Set((JSON.parse(await ok(leader, ['query', '/1.0/profiles'])) as string[]).map((u) => u.split('/').pop()));
    for (const a of acked) assert.ok(seen.has(a), `${leaderName} has ${a} after rejoining`);
  });

  test('a host without the cluster certificate cannot reach the raft', async () => {
    const dir = `/tmp/lxdts-e2e-intruder-${process.pid}`;
    const gen = await m(1).exec('sh', ['-c', `mkdir -p ${dir} && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj /CN=intruder -keyout ${dir}/k.pem -out ${dir}/c.pem 2>/dev/null`]);
    assert.equal(gen.code, 0, describeRun(gen));
    try {
      const r = await m(1).exec('curl', ['-sk', '-o', '/dev/null', '-w', '%{http_code}', '--cert', `${dir}/c.pem`, '--key', `${dir}/k.pem`, '-H', 'Connection: Upgrade', '-H', 'Upgrade: dqlite', `https://${m(2).httpsAddress}/internal/database`]);
      assert.equal(r.stdout.trim(), '403', describeRun(r));
      const none = await m(1).exec('curl', ['-sk', '-o', '/dev/null', '-w', '%{http_code}', '-H', 'Connection: Upgrade', '-H', 'Upgrade: dqlite', `https://${m(3).httpsAddress}/internal/database`]);
      assert.equal(none.stdout.trim(), '403', describeRun(none));
    } finally {
      await m(1).exec('rm', ['-rf', dir]);
    }
  });

  test('quorum loss: writes fail with a clear error, not a hang; recover-from-quorum-loss brings the survivor back', async () => {
    const survivor = m(1);
    await m(2).kill('SIGKILL');
    await m(3).kill('SIGKILL');
    const started = Date.now();
    const r = await unixRequest(survivor.daemon.socket, { method: 'POST', path: '/1.0/profiles', body: { name: 'during-loss', config: {}, devices: {} }, timeoutMs: 60_000 });
    const tookMs = Date.now() - started;
    console.log(`# quorum loss: write refused after ${tookMs} ms with ${r.status}: ${r.json?.error}`);
    assert.equal(r.status, 503, r.text);
    assert.match(String(r.json?.error), /Cluster database unavailable/);
    await survivor.kill('SIGKILL');
    const rec = await survivor.cli(['cluster', 'recover-from-quorum-loss', '--quiet']);
    assert.equal(rec.code, 0, describeRun(rec));
    assert.match((await survivor.cli(['cluster', 'list-database'])).stdout, new RegExp(survivor.httpsAddress.replace(/\./g, '\\.')));
    await survivor.restart();
    await ok(survivor, ['profile', 'create', 'after-recovery']);
    await ok(survivor, ['cluster', 'remove', '--force', '--yes', m(2).name]);
    await ok(survivor, ['cluster', 'remove', '--force', '--yes', m(3).name]);
    const list = await members(survivor);
    assert.deepEqual(list.map((x) => [x.server_name, x.roles, x.status]), [[survivor.name, ['database-leader', 'database'], 'Online']]);
    assert.match(await ok(survivor, ['profile', 'list', '--format', 'csv']), /after-recovery/);
  });
});
