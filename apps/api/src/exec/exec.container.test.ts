// LXD's exec protocol against a real container: the real agent (apps/agent/dist/main.js, spawned as the daemon
// does), a busybox container it starts, the exec service and hub, and a websocket client doing what `lxc exec`
// does. Skips when not root, when liblxc or a static busybox is missing, or when the agent is not built.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type AgentHandle, defaultAgentMain, startAgent } from '../agent/agent.process.js';
import type { InstanceTarget } from '../instances/instance-target.js';
import { type ExecHarness, type FdSocket, execPost, startExec, startExecHarness } from './exec-test-harness.js';

function skipReason(): string | false {
  if (process.getuid?.() !== 0) return 'needs root (liblxc containers)';
  if (spawnSync('lxc-start', ['--version']).status !== 0) return 'lxc-start is not installed';
  if (!existsSync('/bin/busybox')) return 'needs a static /bin/busybox (busybox-static)';
  if (!existsSync(defaultAgentMain())) return 'the agent is not built';
  return false;
}
const skip = skipReason();

/** A unified image: metadata.yaml + rootfs/ with a static busybox as /sbin/init (as the agent's runtime test). */
function buildBusyboxImage(dir: string): string {
  const src = join(dir, 'image-src');
  const rootfs = join(src, 'rootfs');
  for (const d of ['bin', 'sbin', 'etc', 'dev', 'proc', 'sys', 'tmp', 'root', 'mnt']) mkdirSync(join(rootfs, d), { recursive: true });
  copyFileSync('/bin/busybox', join(rootfs, 'bin/busybox'));
  const applets = execFileSync(join(rootfs, 'bin/busybox'), ['--list'], { encoding: 'utf8' }).split('\n').filter(Boolean);
  for (const a of applets) if (a !== 'busybox') symlinkSync('busybox', join(rootfs, 'bin', a));
  symlinkSync('../bin/busybox', join(rootfs, 'sbin/init'));
  writeFileSync(join(rootfs, 'etc/inittab'), '::sysinit:/bin/true\n');
  writeFileSync(join(src, 'metadata.yaml'), 'architecture: x86_64\ncreation_date: 1700000000\n');
  const tarball = join(dir, 'busybox.tar.xz');
  execFileSync('tar', ['-cJf', tarball, '--numeric-owner', '--owner=0', '--group=0', '-C', src, 'metadata.yaml', 'rootfs']);
  return tarball;
}

const output = async (s: FdSocket | undefined) => {
  await s?.waitFor((x) => x.hasBarrier());
  return s?.text();
};

describe('LXD exec protocol against a real container', { skip }, () => {
  const name = `lxdts-e-${randomBytes(4).toString('hex')}`;
  let dir = '';
  let pool = '';
  let agent: AgentHandle | undefined;
  let h: ExecHarness | undefined;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lxdts-api-exec-'));
    chmodSync(dir, 0o711);
    pool = join(dir, 'pool');
    mkdirSync(pool);
    agent = await startAgent({ varDir: join(dir, 'lxd') }, { onLog: () => undefined });
    const ready = await agent.client.ready();
    const fingerprint = randomBytes(32).toString('hex');
    await agent.client.unpackImage({ poolSource: pool, fingerprint, imageFile: buildBusyboxImage(dir) });
    const vol = await agent.client.createVolume({ volume: { poolSource: pool, type: 'containers', name }, fromImage: { fingerprint } });
    await agent.client.start({
      name,
      project: 'default',
      lxcName: name,
      rootfsPath: vol.rootfsPath,
      architecture: 'x86_64',
      config: {},
      devices: { root: { type: 'disk', path: '/', pool: 'default' } },
      idmap: ready.defaultIdmap,
    });
    const target: InstanceTarget = {
      name,
      project: 'default',
      lxcName: name,
      rootfsPath: vol.rootfsPath,
      status: 'Running',
      uidBase: ready.defaultIdmap?.uidBase ?? 0,
      gidBase: ready.defaultIdmap?.gidBase ?? 0,
      expandedConfig: { 'environment.FOO': 'from-config' },
    };
    h = await startExecHarness(dir, agent.socketPath, target);
  });

  after(async () => {
    await h?.close();
    if (agent) {
      await agent.client.stop(name, { force: true, timeoutSec: -1 }).catch(() => undefined);
      await agent.client.delete(name).catch(() => undefined);
      await agent.client.deleteVolume({ volume: { poolSource: pool, type: 'containers', name } }).catch(() => undefined);
      await agent.stop();
    }
    const lxcpath = join(dir, 'lxd', 'containers');
    if (dir && existsSync(join(lxcpath, name))) spawnSync('lxc-stop', ['-P', lxcpath, '-n', name, '-k']);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('lxc exec c -- cat /proc/1/comm', async () => {
    const run = await startExec(h!, execPost(['cat', '/proc/1/comm']));
    run.fds['0']?.sendBarrier();
    const final = await run.done;
    assert.deepEqual([final.status, final.metadata?.['return']], ['Success', 0]);
    assert.equal(await output(run.fds['1']), 'init\n');
    assert.equal(await output(run.fds['2']), '');
  });

  test('echo hi | lxc exec c -- cat', async () => {
    const run = await startExec(h!, execPost(['cat']));
    run.fds['0']?.sendBinary('hi\n');
    run.fds['0']?.sendBarrier();
    await run.done;
    assert.equal(await output(run.fds['1']), 'hi\n');
  });

  test("lxc exec c -- sh -c 'exit 7'; missing command", async () => {
    const run = await startExec(h!, execPost(['sh', '-c', 'exit 7']));
    run.fds['0']?.sendBarrier();
    const final = await run.done;
    assert.deepEqual([final.status, final.metadata?.['return']], ['Success', 7]);
    const missing = await startExec(h!, execPost(['/nonexistent']));
    missing.fds['0']?.sendBarrier();
    const failed = await missing.done;
    assert.deepEqual([failed.status, failed.err, failed.metadata?.['return']], ['Failure', 'Command not found', 127]);
    assert.equal(await output(missing.fds['2']), '');
  });

  test('environment, default cwd ($HOME), --cwd, --user', async () => {
    const run = await startExec(h!, execPost(['sh', '-c', 'echo "$FOO $BAR $LANG"; pwd; id -u'], { environment: { BAR: 'baz', TERM: 'xterm' } }));
    run.fds['0']?.sendBarrier();
    await run.done;
    assert.equal(await output(run.fds['1']), 'from-config baz C.UTF-8\n/root\n0\n');
    const other = await startExec(h!, execPost(['sh', '-c', 'pwd; id -u; echo "$HOME"'], { cwd: '/tmp', user: 1000, group: 1000 }));
    other.fds['0']?.sendBarrier();
    await other.done;
    assert.equal(await output(other.fds['1']), '/tmp\n1000\n\n');
  });

  test('interactive sh: size, window-resize, typed lines, exit status; LXD-identical line endings', async () => {
    const run = await startExec(h!, execPost(['sh'], { interactive: true, width: 80, height: 24 }), ['control', '0']);
    const tty = run.fds['0'] as FdSocket;
    tty.sendBinary('stty size\r');
    await tty.waitFor((x) => x.text().includes('24 80\r\n'));
    run.fds['control']?.sendJson({ command: 'window-resize', args: { height: '40', width: '100' }, signal: 0 });
    await new Promise((r) => setTimeout(r, 300));
    tty.sendBinary('stty size\r');
    await tty.waitFor((x) => x.text().includes('40 100\r\n'));
    tty.sendBinary('tty\r');
    await tty.waitFor((x) => /\/dev\/pts\/\d+\r\n/.test(x.text()));
    tty.sendBinary('exit 5\r');
    const final = await run.done;
    assert.deepEqual([final.status, final.metadata?.['return']], ['Success', 5]);
    await tty.waitFor((x) => x.hasBarrier());
    assert.doesNotMatch(tty.text(), /\r\r\n/);
  });

  test('the client forwards SIGTERM: sleep ends with 143', async () => {
    const run = await startExec(h!, execPost(['sleep', '30']));
    run.fds['0']?.sendBarrier();
    await new Promise((r) => setTimeout(r, 300));
    run.fds['control']?.sendJson({ command: 'signal', args: null, signal: 15 });
    const final = await run.done;
    assert.deepEqual([final.status, final.metadata?.['return']], ['Success', 143]);
  });
});
