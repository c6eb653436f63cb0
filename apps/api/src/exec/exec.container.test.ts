// LXD's exec protocol against a real container: the real agent (apps/agent/dist/main.js, spawned as the daemon
// does), a busybox container it starts, the exec service and hub, and a websocket client doing what `lxc exec`
// does. Skips when not root, when liblxc or a static busybox is missing, or when the agent is not built.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type BusyboxContainer, containerTestSkipReason, startBusyboxContainer } from '@lxdts/test-containers';
import { type AgentHandle, defaultAgentMain, startAgent } from '../agent/agent.process.js';
import type { InstanceTarget } from '../instances/instance-target.js';
import { type ExecHarness, type FdSocket, execPost, startExec, startExecHarness } from './exec-test-harness.js';

const skip = containerTestSkipReason() || (!existsSync(defaultAgentMain()) && 'the agent is not built');

const output = async (s: FdSocket | undefined) => {
  await s?.waitFor((x) => x.hasBarrier());
  return s?.text();
};

describe('LXD exec protocol against a real container', { skip }, () => {
  const name = `lxdts-e-${randomBytes(4).toString('hex')}`;
  let dir = '';
  let agent: AgentHandle | undefined;
  let container: BusyboxContainer | undefined;
  let h: ExecHarness | undefined;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lxdts-api-exec-'));
    chmodSync(dir, 0o711);
    const varDir = join(dir, 'lxd');
    agent = await startAgent({ varDir }, { onLog: () => undefined });
    container = await startBusyboxContainer({ socketPath: agent.socketPath, workDir: dir, lxcpath: join(varDir, 'containers'), name });
    const idmap = container.ready.defaultIdmap;
    const target: InstanceTarget = {
      name,
      project: 'default',
      lxcName: name,
      rootfsPath: container.rootfsPath,
      status: 'Running',
      uidBase: idmap?.uidBase ?? 0,
      gidBase: idmap?.gidBase ?? 0,
      expandedConfig: { 'environment.FOO': 'from-config' },
    };
    h = await startExecHarness(dir, agent.socketPath, target);
  });

  after(async () => {
    await h?.close();
    await container?.remove();
    await agent?.stop();
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
