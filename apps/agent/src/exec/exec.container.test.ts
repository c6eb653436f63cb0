// Streamed exec in a real container: a busybox image unpacked through the agent's dir storage, an unprivileged
// container started through the agent's HTTP server on a temporary socket, then lxdts-attach (when built) and
// lxc-attach (LXDTS_ATTACH_HELPER=off) through the exec stream (exit codes, stdin, stderr, pty, window size,
// signals, cwd/env/uid). Cleans up everything it made.
// Skips when not root or when liblxc's tools, `script` or a static busybox are missing.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import type { AgentExecStart } from '@lxdts/api-types';
import { type BusyboxContainer, agentRequest, containerTestSkipReason, startBusyboxContainer } from '@lxdts/test-containers';
import { type ContainerTestAgent, startContainerTestAgent } from '../testing/container-test-agent.js';
import { StreamTestClient } from '../testing/stream-test-client.js';
import { DEFAULT_HELPER_PATH } from './attach-helper.js';

const skip = containerTestSkipReason(['script']);

const ENV = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', HOME: '/root', USER: 'root', LANG: 'C.UTF-8', TERM: 'xterm' };

for (const attach of ['lxdts-attach', 'lxc-attach'] as const) {
  const noHelper = attach === 'lxdts-attach' && !existsSync(DEFAULT_HELPER_PATH) ? 'lxdts-attach is not built' : false;
  describe(`streamed exec in a real container (${attach})`, { skip: skip || noHelper }, () => {
    const name = `lxdts-x-${randomBytes(4).toString('hex')}`;
    let host: ContainerTestAgent | undefined;
    let container: BusyboxContainer | undefined;

    const open = (command: string[], over: Partial<AgentExecStart> = {}) =>
      StreamTestClient.exec(host!.sock, name, { command, env: ENV, cwd: '/root', uid: 0, gid: 0, interactive: false, width: 0, height: 0, ...over });
    const run = async (command: string[], over: Partial<AgentExecStart> = {}) => {
      const c = await open(command, over);
      c.eof();
      return c.finished(20_000);
    };

    before(async () => {
      // The launcher reads it when the agent starts.
      const saved = process.env['LXDTS_ATTACH_HELPER'];
      if (attach === 'lxc-attach') process.env['LXDTS_ATTACH_HELPER'] = 'off';
      try {
        host = await startContainerTestAgent('lxdts-x-');
      } finally {
        if (saved === undefined) delete process.env['LXDTS_ATTACH_HELPER'];
        else process.env['LXDTS_ATTACH_HELPER'] = saved;
      }
      container = await startBusyboxContainer({ socketPath: host.sock, workDir: host.dir, lxcpath: host.lxcpath, name });
    });

    after(async () => {
      await container?.remove();
      await host?.close();
    });

    test('exit codes: 7, missing command 127, not executable 126, killed 137', async () => {
      const t = await run(['sh', '-c', 'exit 7']);
      assert.equal(t.exitCode, 7);
      assert.deepEqual(t.order.slice(-3).sort(), ['eof1', 'eof2', 'exit']);
      const missing = await run(['/nonexistent']);
      assert.deepEqual([missing.exitCode, missing.stdout, missing.stderr], [127, '', '']);
      assert.equal((await run(['/etc/passwd'])).exitCode, 126);
      assert.equal((await run(['sh', '-c', 'kill -9 $$'])).exitCode, 137);
    });

    test('stdout and stderr separate; stdin piped to cat until eof', async () => {
      const t = await run(['sh', '-c', 'echo out-line; echo err-line >&2; cat /proc/1/comm']);
      assert.equal(t.stdout, 'out-line\ninit\n');
      assert.equal(t.stderr, 'err-line\n');
      const c = await open(['cat']);
      c.stdin('hi\n');
      c.eof();
      const cat = await c.finished();
      assert.deepEqual([cat.stdout, cat.exitCode], ['hi\n', 0]);
    });

    test('environment, working directory (host stand-in or shell), uid and gid', async () => {
      const t = await run(['sh', '-c', 'echo "$FOO|$HOME|$container"; pwd; id -u; id -g'], { env: { ...ENV, FOO: 'bar' }, uid: 1000, gid: 1001, cwd: '/tmp' });
      assert.equal(t.stdout, 'bar|/root|lxc\n/tmp\n1000\n1001\n');
      assert.equal((await run(['pwd'])).stdout, '/root\n');
      assert.equal((await run(['pwd'], { cwd: '' })).stdout, '/\n');
      assert.equal((await run(['mkdir', '-p', '/srv/only-inside'])).exitCode, 0);
      assert.equal((await run(['pwd'], { cwd: '/srv/only-inside' })).stdout, '/srv/only-inside\n');
      assert.deepEqual(await run(['/nonexistent'], { cwd: '/srv/only-inside' }).then((r) => [r.exitCode, r.stderr]), [127, '']);
      assert.equal((await run(['pwd'], { cwd: '/no/such/dir' })).stdout, '/\n');
    });

    test('interactive: the command has a terminal; output as a single pty writes it', async () => {
      const t = await (await open(['tty'], { interactive: true })).finished();
      assert.match(t.stdout, /^\/dev\/pts\/\d+\r\n$/);
      assert.equal(t.exitCode, 0);
    });

    test('interactive shell: initial size, window-resize, typed commands, exit status', async () => {
      const c = await open(['sh'], { interactive: true, width: 80, height: 24 });
      c.stdin('stty size\n');
      await c.waitForStdout(/24 80\r\n/);
      c.control({ type: 'resize', width: 100, height: 40 });
      await new Promise((r) => setTimeout(r, 300));
      c.stdin('stty size\n');
      await c.waitForStdout(/40 100\r\n/);
      c.stdin('exit 5\n');
      const t = await c.finished();
      assert.equal(t.exitCode, 5);
      assert.doesNotMatch(t.stdout, /\r\r\n/);
    });

    test('a signal reaches the command inside the container: SIGTERM ends sleep with 143', async () => {
      const c = await open(['sleep', '100']);
      await new Promise((r) => setTimeout(r, 300));
      c.control({ type: 'signal', signal: 15 });
      assert.equal((await c.finished()).exitCode, 143);
    });

    test('interactive: end of input hangs the command up', async () => {
      const c = await open(['sh', '-c', 'sleep 100'], { interactive: true });
      await new Promise((r) => setTimeout(r, 300));
      c.eof();
      assert.equal((await c.finished()).exitCode, 129);
    });

    test('a closed connection kills the command in the container', async () => {
      const c = await open(['sleep', '4242']);
      await new Promise((r) => setTimeout(r, 300));
      const running = async () => (await run(['ps'])).stdout.includes('sleep 4242');
      assert.ok(await running());
      c.close();
      for (let i = 0; i < 50 && (await running()); i++) await new Promise((r) => setTimeout(r, 100));
      assert.ok(!(await running()));
    });

    test('exec in a stopped container is refused', async () => {
      await agentRequest(host!.sock, 'POST', `/instances/${name}/stop`, { force: true });
      const t = await run(['true']);
      assert.deepEqual(t.error, { error: 'Instance is not running', code: 'conflict' });
    });
  });
}
