// Database roles in a five-member cluster, as LXD balances them: three voters and two stand-bys; a dead voter is
// replaced by a stand-by; `lxc cluster remove` of a member rebalances what is left.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type ClusterMember, TestCluster, clusterMembers, eventually, joinCluster, lxcOk, netnsUnavailableReason } from './harness/index.js';

const unavailable = await netnsUnavailableReason();


describe('cluster of five: database roles', { skip: unavailable ?? false }, () => {
  let cluster: TestCluster;
  const m = (i: number): ClusterMember => cluster.member(i);
  const ok = lxcOk;
  const members = clusterMembers;
  /** name → role summary: V voter, S stand-by, - spare; lowercase when OFFLINE. */
  const roles = async (member: ClusterMember): Promise<Record<string, string>> =>
    Object.fromEntries(
      (await members(member)).map((x) => {
        const r = x.roles.includes('database') ? 'V' : x.roles.includes('database-standby') ? 'S' : '-';
        return [x.server_name, x.status === 'Online' ? r : r.toLowerCase()];
      }),
    );
  const count = (r: Record<string, string>, role: string) => Object.values(r).filter((x) => x === role).length;
  const settle = (what: string, check: () => Promise<boolean>) =>
    eventually(what, check, 30_000, async () => ` (roles now ${JSON.stringify(await roles(cluster.members.find((x) => x.running)!))})`);

  before(async () => {
    cluster = await TestCluster.start(5, { https: true });
    await ok(m(1), ['cluster', 'enable', m(1).name]);
    for (const i of [2, 3, 4, 5]) await joinCluster(m(1), m(i));
  });
  after(async () => {
    await cluster?.dispose();
  });

  test('five members: three voters and two stand-bys', async () => {
    await settle('3 voters + 2 stand-bys', async () => {
      const r = await roles(m(2));
      return count(r, 'V') === 3 && count(r, 'S') === 2;
    });
    assert.match(await ok(m(4), ['cluster', 'list']), /database-standby/);
  });

  test('a voter dies: a stand-by is promoted, the dead one is demoted', async () => {
    const r = await roles(m(1));
    const leader = (await members(m(1))).find((x) => x.roles.includes('database-leader'))!.server_name;
    // Kill a voter that does not lead (the leader's death is the failover test's business).
    const victim = cluster.members.find((x) => r[x.name] === 'V' && x.name !== leader)!;
    const standbys = cluster.members.filter((x) => r[x.name] === 'S').map((x) => x.name);
    const via = cluster.members.find((x) => x !== victim)!;
    await victim.kill('SIGKILL');
    await settle('a stand-by became a voter and the dead voter a spare', async () => {
      const now = await roles(via);
      return count(now, 'V') === 3 && standbys.some((s) => now[s] === 'V') && now[victim.name] === '-';
    });
    // Writes keep working with the new voter set.
    await ok(via, ['profile', 'create', 'after-promotion']);
  });

  test('lxc cluster remove of a dead member rebalances what is left', async () => {
    const via = cluster.members.find((x) => x.running)!;
    const offline = (await members(via)).find((x) => x.status !== 'Online')!.server_name;
    await ok(via, ['cluster', 'remove', '--force', '--yes', offline]);
    await settle('four members: three voters, one stand-by', async () => {
      const r = await roles(via);
      return Object.keys(r).length === 4 && count(r, 'V') === 3 && count(r, 'S') === 1;
    });
  });
});
