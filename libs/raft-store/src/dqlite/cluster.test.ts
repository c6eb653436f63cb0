// A real 3-node cluster on loopback: formation, replication, leader crash with no acknowledged write lost, leadership
// transfer, roles, weight, removal; then offline recovery after quorum loss, and raft through the dial proxy.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { DqliteClient } from './client.js';
import { ClusterMembership } from './membership.js';
import { NodeRole } from './protocol-codes.js';
import { DqliteSidecar, recoverNode } from './sidecar.js';
import { freePort, TestNodes } from './loopback-nodes.js';
import { sleep } from './retry.js';

function roles(members: { id: bigint; role?: number }[]): Record<string, number | undefined> {
  return Object.fromEntries(members.map((m) => [String(m.id), m.role]));
}

async function formCluster(membership: ClusterMembership, nodes: TestNodes, ids: number[]): Promise<void> {
  for (const id of ids) {
    await membership.add(id, nodes.node(id).address);
    await membership.assign(id, NodeRole.Voter);
  }
}

test('3-node cluster: replication, failover, transfer, roles, removal', { timeout: 60_000 }, async (t) => {
  const nodes = await TestNodes.start(3);
  const client = new DqliteClient({ addresses: nodes.addresses(), database: 'cluster.db' });
  const membership = new ClusterMembership(client);
  try {
    assert.deepEqual(roles(await membership.members()), { 1: NodeRole.Voter });
    await membership.add(2, nodes.node(2).address);
    assert.deepEqual(roles(await membership.members()), { 1: NodeRole.Voter, 2: NodeRole.Spare });
    await membership.assign(2, NodeRole.Voter);
    await formCluster(membership, nodes, [3]);
    assert.deepEqual(roles(await membership.members()), { 1: 0, 2: 0, 3: 0 });
    assert.equal((await client.leader())?.id, 1n);

    await client.exec('CREATE TABLE probe (n INTEGER PRIMARY KEY, note TEXT)');
    // A write with RETURNING inside a transaction must be replicated like any other (checked after the failover).
    const returned = await client.transaction((tx) => tx.query("INSERT INTO probe VALUES (0, 'returning') RETURNING n"));
    assert.deepEqual(returned.rows, [[0]]);

    // Write continuously, SIGKILL the leader, keep writing through the new leader.
    const acked: number[] = [];
    const ackedAt: number[] = [];
    let seq = 0;
    let stopWriting = false;
    const writer = (async () => {
      while (!stopWriting) {
        const n = ++seq;
        try {
          await client.exec('INSERT INTO probe (n) VALUES (?)', [n]);
          acked.push(n);
          ackedAt.push(Date.now());
        } catch {
          // In flight at the crash (outcome unknown) or no leader yet: not acknowledged.
        }
        await sleep(5);
      }
    })();
    while (acked.length < 20) await sleep(5);
    const killedAt = Date.now();
    const ackedBeforeKill = acked.length;
    await nodes.kill(1);
    while (acked.length < ackedBeforeKill + 20) await sleep(5);
    stopWriting = true;
    await writer;
    const firstAckAfterKill = ackedAt[ackedBeforeKill]! - killedAt;
    const leader = await client.leader();
    assert.ok(leader && leader.id !== 1n, `a new leader (got ${leader?.id})`);
    const stored = new Set((await client.query('SELECT n FROM probe')).rows.map((r) => r[0]));
    const lost = acked.filter((n) => !stored.has(n));
    assert.deepEqual(lost, [], 'every acknowledged write survives the crash');
    assert.ok(stored.has(0), 'the RETURNING write was replicated');
    assert.ok(firstAckAfterKill < 10_000, `failover took ${firstAckAfterKill} ms`);
    t.diagnostic(`failover: first write acknowledged ${firstAckAfterKill} ms after SIGKILL of the leader`);

    // The crashed node comes back and catches up; leadership moves to a chosen voter.
    await nodes.startNode(1);
    const target = leader.id === 2n ? 1 : 2;
    const moved = await membership.transfer(target);
    assert.equal(moved.id, BigInt(target));
    await client.exec("INSERT INTO probe (n, note) VALUES (-1, 'after transfer')");

    // Roles: node 3 (not the leader) to stand-by, spare, and out.
    await membership.assign(3, NodeRole.StandBy);
    assert.equal(roles(await membership.members())[3], NodeRole.StandBy);
    await membership.assign(3, NodeRole.Spare);
    assert.equal(roles(await membership.members())[3], NodeRole.Spare);
    assert.deepEqual(await membership.describe(nodes.node(3).address), { failureDomain: 0n, weight: 0n });
    await membership.setWeight(nodes.node(3).address, 7);
    assert.equal((await membership.describe(nodes.node(3).address)).weight, 7n);
    await membership.remove(3);
    assert.deepEqual(roles(await membership.members()), { 1: 0, 2: 0 });
    assert.deepEqual((await client.query("SELECT note FROM probe WHERE n = -1")).rows, [['after transfer']]);
  } finally {
    await client.close();
    await nodes.cleanup();
  }
});

test('recover from quorum loss: the survivor is forced into a one-voter cluster with its data', { timeout: 60_000 }, async () => {
  const nodes = await TestNodes.start(3);
  const client = new DqliteClient({ addresses: nodes.addresses(), database: 'recover.db', leaderTimeoutMs: 1500 });
  try {
    await formCluster(new ClusterMembership(client), nodes, [2, 3]);
    await client.exec('CREATE TABLE t (x TEXT)');
    await client.exec("INSERT INTO t VALUES ('kept')");
    await client.close();
    await nodes.kill(2);
    await nodes.kill(3);
    await nodes.stopNode(1);
    const n1 = nodes.node(1);
    await recoverNode({ id: 1, address: n1.address, dataDir: n1.dir, nodes: [{ id: 1, address: n1.address, role: NodeRole.Voter }] });
    await nodes.startNode(1);
    const after = new DqliteClient({ addresses: [n1.address], database: 'recover.db' });
    try {
      assert.deepEqual((await after.query('SELECT x FROM t')).rows, [['kept']]);
      assert.deepEqual(roles(await new ClusterMembership(after).members()), { 1: NodeRole.Voter });
    } finally {
      await after.close();
    }
  } finally {
    await client.close();
    await nodes.cleanup();
  }
});

test('nodes on abstract sockets: clients via --local-socket, raft via --dial-proxy', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lxdts-dqlite-proxy-'));
  const proxyPath = join(dir, 'egress.sock');
  // Cluster addresses are names only here: nothing listens on them, every connection is mapped to a local socket.
  const a1 = `node1.test:${await freePort()}`;
  const a2 = `node2.test:${await freePort()}`;
  const localSocket = new Map([
    [a1, join(dir, 'n1.sock')],
    [a2, join(dir, 'n2.sock')],
  ]);
  const targets: string[] = [];
  const sockets = new Set<Socket>();
  // A minimal egress proxy (the daemon's job in production, with TLS): reads "<address>\n", splices to that node.
  const proxy = createServer((inbound) => {
    sockets.add(inbound);
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const nl = head.indexOf(10);
      if (nl < 0) return;
      inbound.off('data', onData);
      inbound.pause();
      const target = head.subarray(0, nl).toString();
      targets.push(target);
      const outbound = createConnection({ path: localSocket.get(target) ?? '/nonexistent' }, () => {
        if (head.length > nl + 1) outbound.write(head.subarray(nl + 1));
        inbound.pipe(outbound).pipe(inbound);
        inbound.resume();
      });
      sockets.add(outbound);
      outbound.on('error', () => inbound.destroy());
      inbound.on('error', () => outbound.destroy());
    };
    inbound.on('data', onData);
  });
  await new Promise<void>((resolve) => proxy.listen(proxyPath, resolve));
  const start = (id: number, address: string) =>
    DqliteSidecar.start({
      id,
      address,
      bind: `@lxdts-test-${process.pid}-${id}-${address.split(':')[1]}`,
      localSocket: localSocket.get(address)!,
      dataDir: join(dir, `n${id}`),
      dialProxy: proxyPath,
    });
  const dial = async (address: string): Promise<Socket> =>
    new Promise((resolve, reject) => {
      const s = createConnection({ path: localSocket.get(address) ?? '/nonexistent' }, () => resolve(s));
      s.once('error', reject);
    });
  const client = new DqliteClient({ addresses: [a1, a2], database: 'proxy.db', dial });
  const started: DqliteSidecar[] = [];
  try {
    const n1 = await start(1, a1);
    started.push(n1);
    started.push(await start(2, a2));
    assert.equal(n1.bindAddress.startsWith('@'), true);
    const membership = new ClusterMembership(client);
    await formCluster(membership, { node: (id: number) => ({ address: id === 2 ? a2 : a1 }) } as TestNodes, [2]);
    await membership.transfer(2);
    await client.exec('CREATE TABLE t (x)');
    await client.exec('INSERT INTO t VALUES (1)');
    assert.deepEqual((await client.query('SELECT x FROM t')).rows, [[1]]);
    assert.ok(targets.includes(a1) && targets.includes(a2), `raft went through the proxy (saw ${JSON.stringify(targets)})`);
  } finally {
    await client.close();
    await Promise.all(started.map((n) => n.stop(2000)));
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => proxy.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  }
});
