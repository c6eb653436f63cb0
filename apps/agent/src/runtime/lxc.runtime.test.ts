// Real containers: builds a busybox image, unpacks it through the agent's dir storage, starts an unprivileged
// container through the agent's HTTP server on a temporary socket, checks isolation and limits, cleans up.
// Skips when not root or when liblxc's tools are missing.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildBusyboxImage, containerTestSkipReason } from '@lxdts/test-containers';
import type { AgentExecResult, AgentInstanceSpec, AgentInstanceState, AgentInstanceSummary, AgentReady, AgentStartResult } from '@lxdts/api-types';
import { createLogger, silentLogger } from '../log.js';
import { type RunningAgent, startAgentServer } from '../server/agent-server.js';
import { createProcessRunner } from '../process/run.js';
import { parseProcCgroup, readNetwork } from './instance-state.reader.js';
import { HostLinks, readNetworkFromProc } from './proc-net.js';

const skip = containerTestSkipReason();

interface Reply<T> {
  status: number;
  body: T;
}

function call<T>(socketPath: string, method: string, path: string, body?: unknown): Promise<Reply<T>> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = request({ socketPath, method, path, headers: data ? { 'Content-Type': 'application/json' } : {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as T }));
    });
    req.on('error', reject);
    req.end(data);
  });
}

async function ok<T>(socketPath: string, method: string, path: string, body?: unknown): Promise<T> {
  const r = await call<T>(socketPath, method, path, body);
  assert.equal(r.status, 200, `${method} ${path}: ${JSON.stringify(r.body)}`);
  return r.body;
}

const ms = (t0: number) => `${(performance.now() - t0).toFixed(0)} ms`;

describe('lxc runtime through the agent server (real container)', { skip }, () => {
  const id = randomBytes(4).toString('hex');
  const name = `lxdts-t-${id}`;
  const hostVeth = `vt${id}`;
  let dir = '';
  let sock = '';
  let pool = '';
  let shared = '';
  let agent: RunningAgent | undefined;
  let spec: AgentInstanceSpec;
  let ready: AgentReady;
  const timings: string[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lxdts-t-'));
    // The container's root (a mapped uid) must be able to traverse to its rootfs, as under $LXD_DIR (0711).
    chmodSync(dir, 0o711);
    sock = join(dir, 'agent.socket');
    pool = join(dir, 'pool');
    shared = join(dir, 'shared');
    mkdirSync(pool);
    mkdirSync(shared);
    writeFileSync(join(shared, 'hello'), 'from the host\n');
    const log = process.env['LXDTS_TEST_DEBUG'] ? createLogger('debug') : silentLogger;
    agent = await startAgentServer({ socketPath: sock, varDir: join(dir, 'var'), log });
  });

  after(async () => {
    // Only what this test created: its own container name under its own lxcpath, then its temp dir.
    const lxcpath = join(dir, 'var', 'containers');
    if (dir && existsSync(join(lxcpath, name))) spawnSync('lxc-stop', ['-P', lxcpath, '-n', name, '-k']);
    await agent?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
    if (timings.length > 0) process.stderr.write(`# timings: ${timings.join(', ')}\n`);
  });

  test('the socket is private and the agent reports root\'s id range', async () => {
    assert.equal(statSync(sock).mode & 0o777, 0o600);
    ready = await ok<AgentReady>(sock, 'GET', '/ready');
    assert.ok(ready.defaultIdmap, 'root needs a range in /etc/subuid and /etc/subgid');
    assert.ok(ready.defaultIdmap.uidBase >= 100000);
    assert.match(ready.lxcVersion, /^\d+\.\d+/);
  });

  test('image unpack and volume create (dir storage), rootfs owned by host root', async () => {
    const fingerprint = randomBytes(32).toString('hex');
    const imageFile = buildBusyboxImage(dir);
    let t0 = performance.now();
    const unpacked = await ok<{ path: string; created: boolean }>(sock, 'POST', '/storage/dir/image/unpack', { poolSource: pool, fingerprint, imageFile });
    timings.push(`unpack ${ms(t0)}`);
    assert.equal(unpacked.created, true);
    assert.equal((await ok<{ created: boolean }>(sock, 'POST', '/storage/dir/image/unpack', { poolSource: pool, fingerprint, imageFile })).created, false);
    t0 = performance.now();
    const vol = await ok<{ path: string; rootfsPath: string }>(sock, 'POST', '/storage/dir/volume/create', {
      volume: { poolSource: pool, type: 'containers', name },
      fromImage: { fingerprint },
    });
    timings.push(`volume copy ${ms(t0)}`);
    assert.equal(vol.path, join(pool, 'containers', name));
    assert.ok(existsSync(join(vol.path, 'metadata.yaml')));
    assert.equal(statSync(join(vol.rootfsPath, 'bin/busybox')).uid, 0);
    spec = {
      name,
      project: 'default',
      lxcName: name,
      rootfsPath: vol.rootfsPath,
      architecture: 'x86_64',
      config: { 'limits.memory': '64MiB', 'limits.processes': '100', 'environment.FOO': 'bar' },
      devices: {
        root: { type: 'disk', path: '/', pool: 'default' },
        shared: { type: 'disk', source: shared, path: '/mnt/shared', readonly: 'true' },
        eth0: { type: 'nic', nictype: 'p2p', name: 'eth0', host_name: hostVeth },
      },
      idmap: ready.defaultIdmap,
    };
  });

  let pid = 0;
  test('start: an unprivileged container, init in its own pid namespace as a mapped uid', async () => {
    const t0 = performance.now();
    const started = await ok<AgentStartResult>(sock, 'POST', `/instances/${name}/start`, { spec });
    timings.push(`start ${ms(t0)}`);
    pid = started.pid;
    assert.ok(pid > 1);
    assert.equal(started.volatile['volatile.eth0.host_name'], hostVeth);
    assert.match(started.volatile['volatile.eth0.hwaddr'] ?? '', /^00:16:3e:/);

    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const uids = (/^Uid:\s+(.*)$/m.exec(status)?.[1] ?? '').split(/\s+/).map(Number);
    assert.equal(uids.length, 4);
    for (const u of uids) assert.ok(u >= 1_000_000 && u === ready.defaultIdmap?.uidBase, `uid ${u}`);
    assert.notEqual(readlinkSync(`/proc/${pid}/ns/pid`), readlinkSync('/proc/self/ns/pid'));
    assert.notEqual(readlinkSync(`/proc/${pid}/ns/user`), readlinkSync('/proc/self/ns/user'));
    assert.match(status, /^Seccomp:\s+2$/m);

    const memDir = parseProcCgroup(readFileSync(`/proc/${pid}/cgroup`, 'utf8')).get('memory');
    assert.ok(memDir);
    assert.equal(readFileSync(join(memDir, 'memory.limit_in_bytes'), 'utf8').trim(), '67108864');
    assert.equal((await call(sock, 'POST', `/instances/${name}/start`, { spec })).status, 409);
  });

  const exec = (body: Record<string, unknown>) =>
    ok<AgentExecResult>(sock, 'POST', `/instances/${name}/exec-simple`, { env: { PATH: '/bin:/sbin' }, cwd: '', uid: 0, gid: 0, ...body });

  test('exec-simple: exit codes, output, env, cwd, uid, stdin, seccomp', async () => {
    let t0 = performance.now();
    const r7 = await exec({ command: ['sh', '-c', 'exit 7'] });
    timings.push(`exec ${ms(t0)}`);
    assert.equal(r7.exitCode, 7);
    t0 = performance.now();
    assert.deepEqual(await exec({ command: ['cat', '/proc/1/comm'] }), { exitCode: 0, stdout: 'init\n', stderr: '' });
    timings.push(`exec ${ms(t0)}`);
    assert.equal((await exec({ command: ['sh', '-c', 'echo $FOO $BAZ; id -u; hostname'], env: { PATH: '/bin', BAZ: 'qux' } })).stdout, `bar qux\n0\n${name}\n`);
    assert.equal((await exec({ command: ['pwd'], cwd: '/tmp' })).stdout, '/tmp\n');
    assert.equal((await exec({ command: ['id', '-u'], uid: 1000, gid: 1000 })).stdout, '1000\n');
    assert.equal((await exec({ command: ['cat'], stdin: 'piped\n' })).stdout, 'piped\n');
    assert.equal((await exec({ command: ['/nonexistent'] })).exitCode, 127);
    assert.equal((await exec({ command: ['sh', '-c', 'kill -9 $$'] })).exitCode, 137);
    // LXD's default deny list answers ENOSYS for module unloading.
    assert.match((await exec({ command: ['rmmod', 'x'] })).stderr, /Function not implemented/);
  });

  test('mounts: readonly host directory, files created inside are root-owned on the host', async () => {
    assert.equal((await exec({ command: ['cat', '/mnt/shared/hello'] })).stdout, 'from the host\n');
    assert.notEqual((await exec({ command: ['sh', '-c', 'echo x > /mnt/shared/new'] })).exitCode, 0);
    assert.equal((await exec({ command: ['sh', '-c', 'echo made > /root/inside && ls -ln /root/inside'] })).exitCode, 0);
    const created = statSync(join(spec.rootfsPath, 'root/inside'));
    assert.equal(created.uid, 0);
    assert.equal(created.gid, 0);
    assert.equal((await exec({ command: ['stat', '-c', '%u', '/bin/busybox'] })).stdout, '0\n');
  });

  test('state: LXD InstanceState with usage, network and status; list for reconcile', async () => {
    const t0 = performance.now();
    const st = await ok<AgentInstanceState>(sock, 'GET', `/instances/${name}/state`);
    timings.push(`state ${ms(t0)}`);
    assert.equal(st.status, 'Running');
    assert.equal(st.status_code, 103);
    assert.equal(st.pid, pid);
    assert.ok(st.processes >= 1);
    assert.ok(st.cpu.usage > 0);
    assert.ok(st.memory.usage > 0 && st.memory.usage_peak >= st.memory.usage);
    assert.deepEqual(st.disk, {});
    const lo = st.network?.['lo'];
    assert.equal(lo?.type, 'loopback');
    assert.equal(lo?.state, 'up');
    assert.deepEqual(lo?.addresses[0], { family: 'inet', address: '127.0.0.1', netmask: '8', scope: 'local' });
    const eth0 = st.network?.['eth0'];
    assert.equal(eth0?.host_name, hostVeth);
    assert.equal(eth0?.type, 'broadcast');
    assert.match(eth0?.hwaddr ?? '', /^00:16:3e:/);
    assert.ok(existsSync(`/sys/class/net/${hostVeth}`));

    const list = await ok<AgentInstanceSummary[]>(sock, 'GET', '/instances');
    assert.deepEqual(list.find((c) => c.lxcName === name), { lxcName: name, status: 'Running', status_code: 103, pid: 0 });
    assert.deepEqual(await ok<AgentInstanceSummary>(sock, 'GET', `/instances/${name}`), { lxcName: name, status: 'Running', status_code: 103, pid });
  });

  test('state without spawning: the recorded init, /proc and sysfs give what lxc-info and ip give', async () => {
    const lxcpath = join(dir, 'var', 'containers');
    assert.match(readFileSync(join(lxcpath, name, 'init.pid'), 'utf8'), new RegExp(`^${pid} \\d+\n$`));
    assert.equal(Number(readFileSync(join(lxcpath, name, 'monitor.pid'), 'utf8')), Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ')[1]));
    const info = execFileSync('lxc-info', ['-P', lxcpath, '-n', name, '-s', '-p'], { encoding: 'utf8' });
    assert.match(info, /State:\s+RUNNING/);
    assert.match(info, new RegExp(`PID:\\s+${pid}\\b`));
    // An address of each family beside the link-local one, as a network would give.
    execFileSync('nsenter', ['-t', String(pid), '-n', 'ip', 'addr', 'add', '10.254.7.2/24', 'dev', 'eth0']);
    execFileSync('nsenter', ['-t', String(pid), '-n', 'ip', 'addr', 'add', 'fd42:7::2/64', 'dev', 'eth0', 'nodad']);
    const fast = readNetworkFromProc(pid, new HostLinks());
    const viaIp = await readNetwork(createProcessRunner(silentLogger), pid);
    const noCounters = (n: typeof fast) => n && Object.fromEntries(Object.entries(n).map(([k, v]) => [k, { ...v, counters: null }]));
    assert.ok(fast, 'read from /proc');
    assert.deepEqual(noCounters(fast), noCounters(viaIp));
    assert.deepEqual(Object.keys(fast), Object.keys(viaIp ?? {}));
    assert.deepEqual(fast['eth0']?.addresses.map((a) => `${a.address}/${a.netmask} ${a.scope}`).slice(0, 2), ['10.254.7.2/24 global', 'fd42:7::2/64 global']);
    // The agent's answer is that reading, also in the batch used by lxc list.
    const st = await ok<AgentInstanceState>(sock, 'GET', `/instances/${name}/state`);
    assert.deepEqual(noCounters(st.network), noCounters(fast));
    const { states } = await ok<{ states: Record<string, AgentInstanceState> }>(sock, 'POST', '/instance-states', { lxcNames: [name, 'never-seen'] });
    assert.equal(states[name]?.status, 'Running');
    assert.deepEqual(noCounters(states[name]?.network ?? null), noCounters(fast));
    assert.equal(states['never-seen']?.status, 'Stopped');
    assert.equal(states['never-seen']?.network, null);
    execFileSync('nsenter', ['-t', String(pid), '-n', 'ip', 'addr', 'del', '10.254.7.2/24', 'dev', 'eth0']);
    execFileSync('nsenter', ['-t', String(pid), '-n', 'ip', 'addr', 'del', 'fd42:7::2/64', 'dev', 'eth0']);
  });

  test('the container outlives the agent: a new agent finds it running (reconcile)', async () => {
    await agent?.close();
    assert.ok(existsSync(`/proc/${pid}`));
    // Also without the recorded init (a container started by an older agent): it is found once and recorded.
    const initFile = join(dir, 'var', 'containers', name, 'init.pid');
    const recorded = readFileSync(initFile, 'utf8');
    rmSync(initFile);
    agent = await startAgentServer({ socketPath: sock, varDir: join(dir, 'var'), log: silentLogger });
    const list = await ok<AgentInstanceSummary[]>(sock, 'GET', '/instances');
    assert.deepEqual(list, [{ lxcName: name, status: 'Running', status_code: 103, pid: 0 }]);
    assert.equal(readFileSync(initFile, 'utf8'), recorded);
    assert.equal((await ok<AgentInstanceSummary>(sock, 'GET', `/instances/${name}`)).pid, pid);
    assert.equal((await exec({ command: ['cat', '/proc/1/comm'] })).stdout, 'init\n');
  });

  test('freeze and unfreeze', async () => {
    await ok(sock, 'POST', `/instances/${name}/freeze`);
    assert.equal((await ok<AgentInstanceState>(sock, 'GET', `/instances/${name}/state`)).status, 'Frozen');
    assert.equal((await call(sock, 'POST', `/instances/${name}/freeze`)).status, 409);
    await ok(sock, 'POST', `/instances/${name}/unfreeze`);
    assert.equal((await ok<AgentInstanceState>(sock, 'GET', `/instances/${name}/state`)).status, 'Running');
  });

  test('graceful stop (SIGPWR to busybox init), start again, force stop (also when frozen)', async () => {
    let t0 = performance.now();
    await ok(sock, 'POST', `/instances/${name}/stop`, { force: false, timeoutSec: 30 });
    timings.push(`graceful stop ${ms(t0)}`);
    assert.equal((await ok<AgentInstanceState>(sock, 'GET', `/instances/${name}/state`)).status, 'Stopped');
    assert.ok(!existsSync(`/sys/class/net/${hostVeth}`), 'the host side of the veth pair is gone');
    assert.equal((await call(sock, 'POST', `/instances/${name}/stop`, { force: true })).status, 409);

    t0 = performance.now();
    await ok<AgentStartResult>(sock, 'POST', `/instances/${name}/start`, { spec });
    timings.push(`restart ${ms(t0)}`);
    t0 = performance.now();
    await ok(sock, 'POST', `/instances/${name}/stop`, { force: true, timeoutSec: -1 });
    timings.push(`stop -k ${ms(t0)}`);
    // Force also stops a frozen container; a graceful stop of a frozen one is refused.
    await ok<AgentStartResult>(sock, 'POST', `/instances/${name}/start`, { spec });
    await ok(sock, 'POST', `/instances/${name}/freeze`);
    assert.equal((await call(sock, 'POST', `/instances/${name}/stop`, { force: false, timeoutSec: 5 })).status, 409);
    await ok(sock, 'POST', `/instances/${name}/stop`, { force: true });
    const st = await ok<AgentInstanceState>(sock, 'GET', `/instances/${name}/state`);
    assert.equal(st.status, 'Stopped');
    assert.equal(st.pid, 0);
    assert.equal(st.network, null);
    assert.ok(!existsSync(join(dir, 'var', 'containers', name, 'init.pid')), 'no init recorded once stopped');
    assert.ok(existsSync(join(dir, 'var', 'logs', name, 'lxc.log.old')));
  });

  test('a failed start returns start_failed with the lxc log', async () => {
    const broken = { ...spec, config: { ...spec.config, 'raw.lxc': 'lxc.init.cmd = /no/such/init' } };
    const r = await call<{ error: string; code: string }>(sock, 'POST', `/instances/${name}/start`, { spec: broken });
    assert.equal(r.status, 500);
    assert.equal(r.body.code, 'start_failed');
    assert.match(r.body.error, /Failed to start container/);
    assert.equal((await ok<AgentInstanceState>(sock, 'GET', `/instances/${name}/state`)).status, 'Stopped');
  });

  test('delete removes the container, volume delete removes the rootfs, nothing is left', async () => {
    await ok(sock, 'POST', `/instances/${name}/delete`);
    await ok(sock, 'POST', '/storage/dir/volume/delete', { volume: { poolSource: pool, type: 'containers', name } });
    const lxcpath = join(dir, 'var', 'containers');
    assert.equal(execFileSync('lxc-ls', ['-P', lxcpath, '-1'], { encoding: 'utf8' }).trim(), '');
    assert.ok(!existsSync(join(lxcpath, name)));
    assert.ok(!existsSync(join(pool, 'containers', name)));
    assert.ok(!existsSync(join(dir, 'var', 'logs', name)));
  });
});
