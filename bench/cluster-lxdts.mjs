#!/usr/bin/env node
// Cluster figures of lxdts (issue 4's performance section), on a 3-member cluster in network namespaces made by
// the e2e harness (build first: npm run build). Printed as `name value` lines (seconds or per-second rates):
//   join_2nd_s / join_3rd_s          lxdts init --preseed with a token, wall clock
//   write_keepalive_per_s_leader     N x POST /1.0/profiles on one kept-alive unix-socket connection to the leader
//   write_keepalive_per_s_follower   the same through a member that does not lead
//   failover_write_ok_s (x ROUNDS)   SIGKILL of the leader -> first POST /1.0/profiles acknowledged by a survivor
//   failover_marked_offline_s        SIGKILL -> the killed member shown OFFLINE by a survivor
// Env: WRITE_N (default 200), ROUNDS (default 5).
import http from 'node:http';
import { TestCluster } from '../e2e/dist/harness/index.js';

const WRITE_N = Number(process.env.WRITE_N ?? 200);
const ROUNDS = Number(process.env.ROUNDS ?? 5);
const now = () => performance.now();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const out = (name, value, note = '') => console.log(`${name} ${typeof value === 'number' ? value.toFixed(3) : value}${note ? `  # ${note}` : ''}`);

function post(agent, socketPath, path, body) {
  return new Promise((resolve) => {
    const payload = Buffer.from(JSON.stringify(body));
    const req = http.request({ socketPath, agent, method: 'POST', path, headers: { 'content-type': 'application/json', 'content-length': payload.length } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('error', () => resolve(0));
    req.setTimeout(60_000, () => req.destroy());
    req.end(payload);
  });
}

const cluster = await TestCluster.start(3, { https: true });
const m = (i) => cluster.member(i);
const ok = async (member, args) => {
  const r = await member.lxc(args);
  if (r.code !== 0) throw new Error(`${member.name}: lxc ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};
const membersOf = async (member) => JSON.parse(await ok(member, ['query', '/1.0/cluster/members?recursion=1']));
try {
  await ok(m(1), ['cluster', 'enable', m(1).name]);
  for (const [i, label] of [[2, 'join_2nd_s'], [3, 'join_3rd_s']]) {
    const token = (await ok(m(1), ['cluster', 'add', m(i).name, '--quiet'])).trim();
    const preseed = `cluster:\n  enabled: true\n  server_name: ${m(i).name}\n  server_address: ${m(i).httpsAddress}\n  cluster_token: ${token}\n`;
    const t = now();
    const r = await m(i).cli(['init', '--preseed'], { input: preseed, inNetns: true, timeoutMs: 90_000 });
    if (r.code !== 0) throw new Error(`join: ${r.stderr}`);
    out(label, (now() - t) / 1000);
  }
  for (let t = Date.now(); Date.now() - t < 20_000; await sleep(250)) {
    if ((await membersOf(m(1))).filter((x) => x.database).length === 3) break;
  }
  const leaderName = async (via) => (await membersOf(via)).find((x) => x.roles.includes('database-leader'))?.server_name;
  const leaderNow = await leaderName(m(1));
  for (const role of ['leader', 'follower']) {
    const target = cluster.members.find((x) => (role === 'leader' ? x.name === leaderNow : x.name !== leaderNow));
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const t = now();
    let good = 0;
    for (let i = 0; i < WRITE_N; i++) if ((await post(agent, target.daemon.socket, '/1.0/profiles', { name: `b-${role}-${i}`, config: {}, devices: {} })) === 201) good++;
    const secs = (now() - t) / 1000;
    agent.destroy();
    out(`write_keepalive_per_s_${role}`, good / secs, `${target.name}, ${good}/${WRITE_N} created in ${secs.toFixed(2)} s`);
  }
  for (let round = 1; round <= ROUNDS; round++) {
    const name = await leaderName(m(1).running ? m(1) : m(2));
    const victim = cluster.members.find((x) => x.name === name);
    const survivor = cluster.members.find((x) => x !== victim && x.running);
    const agent = new http.Agent({ keepAlive: false });
    const t0 = now();
    await victim.kill('SIGKILL');
    let wrote = 0;
    for (let i = 0; !wrote; i++) {
      if ((await post(agent, survivor.daemon.socket, '/1.0/profiles', { name: `f${round}-${i}`, config: {}, devices: {} })) === 201) wrote = now();
    }
    out('failover_write_ok_s', (wrote - t0) / 1000, `round ${round}: SIGKILL ${victim.name}, writes via ${survivor.name}`);
    let offline = 0;
    while (!offline) {
      const st = (await membersOf(survivor)).find((x) => x.server_name === victim.name)?.status;
      if (st === 'Offline') offline = now();
      else await sleep(50);
    }
    out('failover_marked_offline_s', (offline - t0) / 1000, `round ${round}`);
    await victim.restart();
    for (let t = Date.now(); Date.now() - t < 30_000; await sleep(250)) {
      const list = await membersOf(survivor);
      if (list.every((x) => x.status === 'Online') && list.filter((x) => x.database).length === 3) break;
    }
  }
} finally {
  await cluster.dispose();
}
