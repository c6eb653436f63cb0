// What cluster tests (and bench/cluster-lxdts.mjs) do over and over with the real client: a checked `lxc` call,
// the member list, a join with a token, and waiting for the cluster to settle.
import assert from 'node:assert/strict';
import type { ClusterMember } from './cluster.js';
import { describeRun } from './run.js';

/** GET /1.0/cluster/members?recursion=1, the fields the tests look at. */
export interface MemberView {
  server_name: string;
  url: string;
  roles: string[];
  database: boolean;
  status: string;
}

/** `lxc ARGS` through `member`, which must succeed; its stdout. */
export async function lxcOk(member: ClusterMember, args: readonly string[]): Promise<string> {
  const r = await member.lxc(args);
  assert.equal(r.code, 0, `${member.name}: lxc ${args.join(' ')}\n${describeRun(r)}`);
  return r.stdout;
}

export async function clusterMembers(member: ClusterMember): Promise<MemberView[]> {
  return JSON.parse(await lxcOk(member, ['query', '/1.0/cluster/members?recursion=1'])) as MemberView[];
}

/** `lxc cluster add` on `via`, then `lxdts init --preseed` with the token on `joiner` (inside its namespace). */
export async function joinCluster(via: ClusterMember, joiner: ClusterMember): Promise<string> {
  const token = (await lxcOk(via, ['cluster', 'add', joiner.name, '--quiet'])).trim();
  const preseed = ['cluster:', '  enabled: true', `  server_name: ${joiner.name}`, `  server_address: ${joiner.httpsAddress}`, `  cluster_token: ${token}`, ''].join('\n');
  const r = await joiner.cli(['init', '--preseed'], { input: preseed, inNetns: true, timeoutMs: 90_000 });
  assert.equal(r.code, 0, `join of ${joiner.name}: ${describeRun(r)}`);
  return token;
}

/** Polls `check` every 250 ms until it passes (errors count as not yet); fails after `timeoutMs` with `detail()`. */
export async function eventually(what: string, check: () => Promise<boolean>, timeoutMs = 20_000, detail: () => Promise<string> = async () => ''): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > until) assert.fail(`timed out waiting for: ${what}${await detail().catch(() => '')}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
