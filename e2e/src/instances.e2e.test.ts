// Real containers through the real client: image import, launch, state, limits in the cgroup, power actions,
// ephemeral instances, a daemon restart that leaves containers running, and bad input that leaves nothing behind.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { LXC_BIN, TestDaemon, busyboxImageDir, describeRun, makeTempDir, removeTempDir, run } from './harness/index.js';

const isRoot = process.getuid?.() === 0;
const haveLxc = existsSync('/usr/bin/lxc-start');

describe('instances (real containers)', { skip: !isRoot || !haveLxc ? 'needs root and liblxc (lxc-start)' : false }, () => {
  let d: TestDaemon;
  const ok = async (args: string[]) => {
    const r = await d.lxc(args);
    assert.equal(r.code, 0, describeRun(r));
    return r.stdout;
  };
  const fails = async (args: string[]) => {
    const r = await d.lxc(args);
    assert.notEqual(r.code, 0, describeRun(r));
    return r.stderr;
  };
  const state = async (name: string) => (await d.client.query(`/1.0/instances/${name}/state`)).json as { status: string; pid: number };
  const volumes = () => readdirSync(join(d.lxdDir, 'storage-pools', 'default', 'containers')).sort();

  before(async () => {
    d = await TestDaemon.start();
    const init = await d.cli(['init', '--auto']);
    assert.equal(init.code, 0, describeRun(init));
    const dir = await busyboxImageDir();
    await ok(['image', 'import', join(dir, 'busybox.tar.xz'), '--alias', 'busybox']);
  });
  after(async () => {
    if (d) {
      for (const name of ['c1', 'c2', 'e1']) await d.lxc(['delete', '--force', name]);
      await d.dispose();
    }
  });

  test('lxc launch starts an unprivileged container in its own namespaces', async () => {
    await ok(['launch', 'busybox', 'c1']);
    const list = JSON.parse(await ok(['list', '--format', 'json'])) as { name: string; status: string; state: { pid: number } }[];
    const c1 = list.find((i) => i.name === 'c1');
    assert.equal(c1?.status, 'Running');
    const pid = c1!.state.pid;
    assert.ok(pid > 1);
    assert.notEqual(readlinkSync(`/proc/${pid}/ns/pid`), readlinkSync('/proc/self/ns/pid'), 'own pid namespace');
    assert.notEqual(readlinkSync(`/proc/${pid}/ns/user`), readlinkSync('/proc/self/ns/user'), 'own user namespace');
    const uid = Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
    assert.ok(uid >= 1000000, `init runs as host uid ${uid}`);
    assert.equal(readFileSync(`/proc/${pid}/comm`, 'utf8').trim(), 'init');
    // As LXD: root's whole subordinate range is mapped, and the map is recorded in LXD's volatile keys.
    const [nsid, hostid, size] = readFileSync(`/proc/${pid}/uid_map`, 'utf8').trim().split(/\s+/).map(Number);
    assert.equal(nsid, 0);
    assert.equal(hostid, uid);
    assert.ok(size! > 65536, `map size ${size}`);
    const config = (await d.client.query('/1.0/instances/c1')).json as { config: Record<string, string> };
    const map = JSON.parse(config.config['volatile.idmap.current'] ?? '[]') as { Isuid: boolean; Hostid: number; Maprange: number }[];
    assert.deepEqual(map.find((e) => e.Isuid), { Isuid: true, Isgid: false, Hostid: hostid, Nsid: 0, Maprange: size });
    assert.equal(config.config['volatile.last_state.idmap'], config.config['volatile.idmap.current']);
    assert.equal(config.config['volatile.idmap.base'], '0');
    assert.match(config.config['volatile.cloud-init.instance-id'] ?? '', /^[0-9a-f-]{36}$/);
  });

  test('lxc exec: init is PID 1, exit codes, stdin, stderr, interactive pty', async () => {
    assert.equal((await ok(['exec', 'c1', '--', 'cat', '/proc/1/comm'])).trim(), 'init');
    const seven = await d.lxc(['exec', 'c1', '--', 'sh', '-c', 'echo err >&2; exit 7']);
    assert.equal(seven.code, 7, describeRun(seven));
    assert.equal(seven.stderr.trim(), 'err');
    const echo = await d.lxc(['exec', 'c1', '--', 'cat'], { input: 'hi\n' });
    assert.equal(echo.stdout, 'hi\n');
    const missing = await d.lxc(['exec', 'c1', '--', '/no/such/command']);
    assert.equal(missing.code, 127);
    // An interactive session needs a terminal on the client side: `script` provides one.
    const tty = await run('script', ['-qec', `${LXC_BIN} exec c1 -- sh -c 'tty; exit 5'`, '/dev/null'], { env: d.env() });
    assert.equal(tty.code, 5, describeRun(tty));
    assert.match(tty.stdout, /\/dev\/pts\/\d+/);
  });

  test('exec with record-output: the output files are listed, served as they are and deleted under /logs', async () => {
    const post = await d.request({
      method: 'POST',
      path: '/1.0/instances/c1/exec',
      body: { command: ['sh', '-c', 'printf "out\\001\\n"; echo err >&2'], 'record-output': true, 'wait-for-websocket': false, interactive: false },
    });
    assert.equal(post.status, 202, post.text);
    const done = await d.request({ path: `/1.0/operations/${post.json.metadata.id}/wait?timeout=30` });
    const output = done.json.metadata.metadata.output as Record<string, string>;
    assert.match(output['1'] ?? '', /^\/1\.0\/instances\/c1\/logs\/exec_[0-9a-f-]+\.stdout$/);
    const list = (await d.request({ path: '/1.0/instances/c1/logs' })).json.metadata as string[];
    assert.ok(list.includes(output['1']!) && list.includes(output['2']!) && list.includes('/1.0/instances/c1/logs/lxc.log'), JSON.stringify(list));
    const stdout = await d.request({ path: output['1']! });
    assert.deepEqual([stdout.status, stdout.headers['content-type'], stdout.text], [200, 'application/octet-stream', 'out\u0001\n']);
    assert.equal((await d.request({ path: output['2']! })).text, 'err\n');
    const lxcLog = await d.request({ method: 'DELETE', path: '/1.0/instances/c1/logs/lxc.log' });
    assert.deepEqual([lxcLog.status, lxcLog.json.error], [400, 'lxc.log and lxc.conf may not be deleted']);
    assert.equal((await d.request({ method: 'DELETE', path: output['1']! })).status, 200);
    assert.equal((await d.request({ method: 'DELETE', path: output['1']! })).status, 404);
    assert.ok(!((await d.request({ path: '/1.0/instances/c1/logs' })).json.metadata as string[]).includes(output['1']!));
    assert.equal((await d.request({ path: '/1.0/instances/c1/logs/console.log' })).status, 400);
  });

  test('lxc file push and pull round-trip 1 MiB with uid, gid and mode; no path leaves the rootfs', async () => {
    const dir = makeTempDir('files');
    try {
      const data = randomBytes(1024 * 1024);
      writeFileSync(join(dir, 'in'), data);
      await ok(['file', 'push', join(dir, 'in'), 'c1/root/blob', '--uid', '1000', '--gid', '1001', '--mode', '0640']);
      await ok(['file', 'pull', 'c1/root/blob', join(dir, 'out')]);
      const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
      assert.equal(sha(readFileSync(join(dir, 'out'))), sha(data));
      const st = statSync(join(d.lxdDir, 'storage-pools', 'default', 'containers', 'c1', 'rootfs', 'root', 'blob'));
      assert.deepEqual([st.uid, st.gid, st.mode & 0o777], [1000, 1001, 0o640]);
      assert.equal((await ok(['exec', 'c1', '--', 'stat', '-c', '%u:%g:%a', '/root/blob'])).trim(), '1000:1001:640');
      // A symlink inside the container pointing at the host's /etc, and `..` climbs: both stay in the rootfs.
      await ok(['exec', 'c1', '--', 'ln', '-s', '/../../../../etc', '/root/up']);
      const viaLink = await d.lxc(['file', 'pull', 'c1/root/up/hostname', '-']);
      assert.equal(viaLink.stdout.trim(), 'c1');
      const climb = await d.request({ method: 'GET', path: '/1.0/instances/c1/files?path=/../../../../../etc/hostname' });
      assert.equal(climb.text.trim(), 'c1');
      const outside = await d.request({ method: 'POST', path: '/1.0/instances/c1/files?path=/root/up/lxdts-escape', body: 'x' });
      assert.ok(outside.status < 500);
      assert.ok(!existsSync('/etc/lxdts-escape'), 'nothing was written on the host');
    } finally {
      removeTempDir(dir);
    }
  });

  test('limits.memory set on a running container lands in its memory cgroup', async () => {
    await ok(['config', 'set', 'c1', 'limits.memory', '64MB']);
    const pid = (await state('c1')).pid;
    const memLine = readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n').find((l) => /:memory:/.test(l));
    assert.ok(memLine, 'memory cgroup (v1)');
    const path = memLine.split(':')[2]!;
    assert.equal(readFileSync(join('/sys/fs/cgroup/memory', path, 'memory.limit_in_bytes'), 'utf8').trim(), '64000000');
    assert.equal((await ok(['config', 'get', 'c1', 'limits.memory'])).trim(), '64MB');
  });

  test('stop --force, start, restart, pause and start again', async () => {
    await ok(['stop', '--force', 'c1']);
    assert.equal((await state('c1')).status, 'Stopped');
    await ok(['start', 'c1']);
    const pid1 = (await state('c1')).pid;
    await ok(['restart', '--force', 'c1']);
    const after1 = await state('c1');
    assert.equal(after1.status, 'Running');
    assert.notEqual(after1.pid, pid1, 'a restart gives a new init');
    await ok(['pause', 'c1']);
    assert.equal((await state('c1')).status, 'Frozen');
    await ok(['start', 'c1']);
    assert.equal((await state('c1')).status, 'Running');
  });

  test('an ephemeral container disappears on stop', async () => {
    await ok(['launch', 'busybox', 'e1', '--ephemeral']);
    assert.ok(volumes().includes('e1'));
    await ok(['stop', '--force', 'e1']);
    const r = await d.lxc(['info', 'e1']);
    assert.notEqual(r.code, 0);
    assert.ok(!volumes().includes('e1'), 'its volume is gone');
  });

  test('a daemon restart leaves running containers running', async () => {
    const pid = (await state('c1')).pid;
    await d.stopLeavingInstances();
    assert.equal(readFileSync(`/proc/${pid}/comm`, 'utf8').trim(), 'init', 'init survived the daemon');
    await d.restart();
    const s = await state('c1');
    assert.equal(s.status, 'Running');
    assert.equal(s.pid, pid);
  });

  test('bad input: missing image, unknown key, bad device, bad name — 4xx and nothing left behind', async () => {
    const before1 = volumes();
    assert.match(await fails(['launch', 'nosuchimage', 'x1']), /not found/i);
    assert.match(await fails(['init', 'busybox', 'x2', '-c', 'foo.bar=1']), /Unknown configuration key/);
    assert.match(await fails(['init', 'busybox', 'x3', '-c', 'limits.memory=lots']), /Invalid/);
    const bad = await d.request({ method: 'POST', path: '/1.0/instances', body: JSON.stringify({ name: 'x4', source: { type: 'image', alias: 'busybox' }, devices: { d: { type: 'bogus' } } }) });
    assert.equal(bad.status, 400);
    const badName = await d.request({ method: 'POST', path: '/1.0/instances', body: JSON.stringify({ name: '../x', source: { type: 'image', alias: 'busybox' } }) });
    assert.equal(badName.status, 400);
    assert.deepEqual(volumes(), before1, 'no rootfs directory left');
    const names = (await d.client.query('/1.0/instances')).json as string[];
    assert.deepEqual(names, ['/1.0/instances/c1']);
    assert.deepEqual(readdirSync(join(d.lxdDir, 'containers')).filter((n) => n.startsWith('x')), [], 'no liblxc config left');
  });

  test('delete --force removes a running container, its volume and its row', async () => {
    const pid = (await state('c1')).pid;
    await ok(['delete', '--force', 'c1']);
    assert.ok(!existsSync(`/proc/${pid}`) || readFileSync(`/proc/${pid}/comm`, 'utf8').trim() !== 'init');
    assert.deepEqual(volumes(), []);
    assert.deepEqual((await d.client.query('/1.0/instances')).json, []);
  });
});
