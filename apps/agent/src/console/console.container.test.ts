// The console stream in a real container: a busybox image unpacked through the agent's dir storage, an unprivileged
// container started through the agent's HTTP server on a temporary socket, then lxc-console through the console
// stream: /dev/console output reaches the stream and the console log, bytes typed reach a reader of /dev/console,
// the window size reaches /dev/console, detaching leaves the container running and frees the console, a second
// session is refused while one is attached, and a stopped container ends the session. Cleans up everything it made.
// Skips when not root or when liblxc's tools, `script` or a static busybox are missing.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { AgentConsoleExit, AgentExecStart, AgentInstanceSummary } from '@lxdts/api-types';
import { type BusyboxContainer, agentRequest, containerTestSkipReason, startBusyboxContainer } from '@lxdts/test-containers';
import { type ContainerTestAgent, startContainerTestAgent } from '../testing/container-test-agent.js';
import { StreamTestClient } from '../testing/stream-test-client.js';

const skip = containerTestSkipReason(['lxc-console', 'script']);

const ENV = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', HOME: '/root', USER: 'root', LANG: 'C.UTF-8' };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('console stream in a real container', { skip }, () => {
  const name = `lxdts-con-${randomBytes(4).toString('hex')}`;
  let host: ContainerTestAgent | undefined;
  let container: BusyboxContainer | undefined;
  const open: StreamTestClient<AgentConsoleExit>[] = [];

  const attach = async (width = 80, height = 24) => {
    const c = await StreamTestClient.console(host!.sock, name, { width, height });
    open.push(c);
    return c;
  };
  const exec = (command: string[]) => {
    const start: AgentExecStart = { command, env: ENV, cwd: '/root', uid: 0, gid: 0, interactive: false, width: 0, height: 0 };
    return StreamTestClient.exec(host!.sock, name, start);
  };
  const run = async (command: string[]) => {
    const c = await exec(command);
    c.eof();
    return c.finished(20_000);
  };
  /** Detaches (the next session needs a free console), whatever the test did before. */
  const release = async (c: StreamTestClient<AgentConsoleExit>) => {
    if (c.transcript.exit || c.transcript.error) return;
    c.eof();
    await c.finished(10_000).catch(() => c.close());
  };
  const consoleLog = () => readFileSync(join(host!.varDir, 'logs', name, 'console.log'), 'latin1');
  const summary = () => agentRequest<AgentInstanceSummary>(host!.sock, 'GET', `/instances/${name}`);

  before(async () => {
    host = await startContainerTestAgent('lxdts-con-');
    container = await startBusyboxContainer({ socketPath: host.sock, workDir: host.dir, lxcpath: host.lxcpath, name });
  });

  after(async () => {
    for (const c of open) c.close();
    await container?.remove();
    await host?.close();
  });

  test('/dev/console output reaches the stream and the console log; detaching leaves the container running', async () => {
    const c = await attach();
    await c.waitFor((t) => t.started !== null, 'started');
    const t = await (async () => {
      try {
        assert.equal((await run(['sh', '-c', 'echo marker-one > /dev/console'])).exitCode, 0);
        await c.waitForStdout(/marker-one\r+\n/);
        assert.match(consoleLog(), /marker-one\r?\n/);
      } finally {
        c.eof();
      }
      return c.finished();
    })();
    assert.deepEqual(t.exit, { detached: true, exitCode: 0 });
    assert.deepEqual(t.order.slice(-2), ['eof1', 'exit']);
    assert.equal((await summary()).status, 'Running');
    // The console is free again: a new session attaches.
    const again = await attach();
    try {
      await again.waitFor((x) => x.started !== null, 'second attach');
    } finally {
      await release(again);
    }
  });

  test('bytes typed on the stream reach a process reading /dev/console (echoed back as the terminal does)', async () => {
    const c = await attach();
    try {
      await c.waitFor((t) => t.started !== null, 'started');
      const reader = await exec(['sh', '-c', 'head -n 1 /dev/console']);
      await sleep(300);
      c.stdin('typed-line\r');
      const r = await reader.finished(10_000);
      assert.equal(r.stdout, 'typed-line\n');
      await c.waitForStdout(/typed-line\r+\n/);
    } finally {
      await release(c);
    }
  });

  test('the window size reaches the container console, at attach and on resize', async () => {
    const pid = (await summary()).pid;
    // The container's /dev/console seen from the host (the test trusts its own container).
    const size = () => execFileSync('stty', ['-F', `/proc/${pid}/root/dev/console`, 'size'], { encoding: 'utf8' }).trim();
    const c = await attach(100, 40);
    try {
      await c.waitFor((t) => t.started !== null, 'started');
      const until = async (want: string) => {
        let now = size();
        for (let i = 0; i < 40 && now !== want; i++) {
          await sleep(50);
          now = size();
        }
        return now;
      };
      assert.equal(await until('40 100'), '40 100');
      c.resize(132, 50);
      assert.equal(await until('50 132'), '50 132');
    } finally {
      await release(c);
    }
  });

  test('a second session is refused while one is attached', async () => {
    const first = await attach();
    try {
      await first.waitFor((t) => t.started !== null, 'started');
      const second = await (await attach()).finished();
      assert.deepEqual(second.error, { error: 'The console is already in use', code: 'conflict' });
    } finally {
      await release(first);
    }
    assert.equal(first.transcript.exit?.detached, true);
  });

  test('the container stopping ends the session; a stopped container is refused', async () => {
    const c = await attach();
    await c.waitFor((t) => t.started !== null, 'started');
    await agentRequest(host!.sock, 'POST', `/instances/${name}/stop`, { force: true });
    const t = await c.finished(15_000);
    assert.equal(t.exit?.detached, false);
    const refused = await (await attach()).finished();
    assert.deepEqual(refused.error, { error: 'Instance is not running', code: 'conflict' });
  });
});
