// Spawns the real agent (apps/agent/dist/main.js): ready, restart after a crash, orphan takeover, stop.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AgentClient } from './agent.client.js';
import { type AgentHandle, defaultAgentMain, startAgent } from './agent.process.js';

const main = defaultAgentMain();
const alive = (pid: number | undefined) => {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const waitFor = async (what: string, fn: () => boolean, ms = 10_000) => {
  const end = Date.now() + ms;
  while (!fn()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe('agent process', { skip: !existsSync(main) && `agent not built (${main})` }, () => {
  let dir = '';
  let handle: AgentHandle | undefined;
  const logs: string[] = [];
  const pids: number[] = [];

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'lxdts-agent-proc-'));
  });
  after(async () => {
    await handle?.stop();
    for (const pid of pids) if (alive(pid)) process.kill(pid, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  test('an orphan agent on the socket is replaced; the new one answers', async () => {
    const socket = join(dir, 'agent.socket');
    const orphan = spawn(process.execPath, [main, '--socket', socket, '--var-dir', dir], { stdio: 'ignore' });
    pids.push(orphan.pid as number);
    const probe = new AgentClient(socket);
    await waitFor('the orphan', () => existsSync(socket));
    assert.equal((await probe.ready()).pid, orphan.pid);
    probe.close();

    const t0 = performance.now();
    handle = await startAgent({ varDir: dir }, { onLog: (l) => logs.push(l), restartDelayMs: 50 });
    process.stderr.write(`# agent spawn to ready: ${(performance.now() - t0).toFixed(0)} ms\n`);
    pids.push(handle.pid() as number);
    assert.equal(handle.socketPath, socket);
    await waitFor('the orphan to exit', () => orphan.exitCode !== null);
    const ready = await handle.ready();
    assert.equal(ready.pid, handle.pid());
    assert.equal(ready.lxcPath, join(dir, 'containers'));
    assert.ok(Array.isArray(await handle.client.listInstances()));
  });

  test('a killed agent is restarted and answers again with a new pid', async () => {
    assert.ok(handle);
    const first = handle.pid();
    process.kill(first as number, 'SIGKILL');
    await waitFor('a new agent', () => handle?.pid() !== first);
    pids.push(handle.pid() as number);
    const ready = await handle.ready();
    assert.equal(ready.pid, handle.pid());
    assert.ok(logs.some((l) => l.includes('Host agent exited')));
  });

  test('stop ends the agent and removes the socket; no restart follows', async () => {
    assert.ok(handle);
    const pid = handle.pid();
    await handle.stop();
    handle = undefined;
    assert.ok(!alive(pid));
    assert.ok(!existsSync(join(dir, 'agent.socket')));
    await new Promise((r) => setTimeout(r, 150));
    assert.ok(!existsSync(join(dir, 'agent.socket')));
  });

  test('an agent whose daemon dies (stdin closes) exits by itself', async () => {
    const socket = join(dir, 'orphan2.socket');
    const child = spawn(process.execPath, [main, '--socket', socket, '--var-dir', dir, '--exit-on-stdin-close'], { stdio: ['pipe', 'ignore', 'ignore'] });
    pids.push(child.pid as number);
    await waitFor('the agent', () => existsSync(socket));
    child.stdin?.end();
    await waitFor('the agent to exit', () => child.exitCode !== null);
    assert.equal(child.exitCode, 0);
    assert.ok(!existsSync(socket));
  });
});
