// The exec stream end to end on a real agent HTTP server, with local commands instead of lxc-attach: a shell
// stands in for lxc-attach (the command is its child, as under liblxc), `script` provides the pty as in production.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import type { AgentExecStart } from '@lxdts/api-types';
import { conflict } from '../errors.js';
import { createProcessRunner } from '../process/run.js';
import { StreamTestClient } from '../testing/stream-test-client.js';
import { type StreamTestServer, processAlive as alive, serveStreamForTest, streamTestLogger } from '../testing/stream-test-server.js';
import { type ExecLaunch, shellQuote } from './attach-command.js';
import type { ExecLauncher } from './exec-launcher.js';
import { ExecStreamServer } from './exec-stream.server.js';

const argv = (pid: number): string[] => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return [];
  }
};

/** `sh -c '"$@"; exit $?'` forks the command and exits with its status, like lxc-attach. */
const STAND_IN = '"$@"; exit $?';

const localLauncher: ExecLauncher = {
  async prepare(lxcName: string, start: AgentExecStart): Promise<ExecLaunch> {
    if (lxcName === 'stopped') throw conflict('Instance is not running');
    const attach = ['/bin/sh', '-c', STAND_IN, 'sh', ...start.command];
    if (!start.interactive) return { file: attach[0] as string, args: attach.slice(1), env: start.env, cwd: '/', depth: 1 };
    // As lxc-attach leaves it: raw input, no echo, OPOST|ONLCR output.
    const size = start.width > 0 ? ` rows ${start.height} cols ${start.width}` : '';
    const line = `stty raw -echo opost onlcr${size} && exec ${attach.map(shellQuote).join(' ')}`;
    return { file: 'script', args: ['-q', '-f', '-e', '-c', line, '/dev/null'], env: { ...start.env, SHELL: '/bin/sh' }, cwd: '/', depth: 2 };
  },
  // The stand-in's children are the command (not the pty set-up's stty, which the same pid runs before its exec).
  isCommand: (_pid, parent) => argv(parent)[2] === STAND_IN,
};

const start = (command: string[], over: Partial<AgentExecStart> = {}): AgentExecStart => ({
  command,
  env: { PATH: '/usr/bin:/bin', TERM: 'xterm' },
  cwd: '',
  uid: 0,
  gid: 0,
  interactive: false,
  width: 0,
  height: 0,
  ...over,
});

describe('exec stream (local commands)', () => {
  let sock = '';
  let server: StreamTestServer;
  let exec: ExecStreamServer;

  before(async () => {
    const log = streamTestLogger();
    exec = new ExecStreamServer({ runner: createProcessRunner(log), launcher: localLauncher, log, inputHoldMs: 300 });
    server = await serveStreamForTest(exec, 'lxdts-exec-');
    sock = server.sock;
  });
  after(() => server.close());

  test('stdout and stderr are separate streams; each ends with eof before the exit code', async () => {
    const c = await StreamTestClient.exec(sock, 'c1', start(['sh', '-c', 'echo out-line; echo err-line >&2; exit 3']));
    c.eof();
    const t = await c.finished();
    assert.equal(t.stdout, 'out-line\n');
    assert.equal(t.stderr, 'err-line\n');
    assert.equal(t.exitCode, 3);
    assert.equal(t.order[0], 'started');
    assert.deepEqual(t.order.slice(-1), ['exit']);
    assert.ok(t.order.indexOf('eof1') < t.order.indexOf('exit') && t.order.indexOf('eof2') < t.order.indexOf('exit'));
    assert.ok(t.started && t.started.pid > 0);
  });

  test('armed: started at once, the command runs only on go (input sent before it is kept); closed before go: never ran', async () => {
    const marker = join(tmpdir(), `lxdts-armed-${process.pid}-${Date.now()}`);
    const c = await StreamTestClient.exec(sock, 'c1', start(['sh', '-c', `touch ${marker}; cat`], { armed: true }));
    await c.waitFor((t) => t.started !== null, 'started');
    c.stdin('early ');
    await new Promise((r) => setTimeout(r, 150));
    assert.equal(existsSync(marker), false, 'nothing ran before the go');
    c.control({ type: 'go' });
    c.stdin('late');
    c.eof();
    const t = await c.finished();
    assert.deepEqual([t.stdout, t.exitCode], ['early late', 0]);
    assert.equal(existsSync(marker), true);
    rmSync(marker, { force: true });

    const dropped = await StreamTestClient.exec(sock, 'c1', start(['touch', marker], { armed: true }));
    await dropped.waitFor((t) => t.started !== null, 'started');
    dropped.close();
    await new Promise((r) => setTimeout(r, 150));
    assert.equal(existsSync(marker), false);
    // A refusal still comes before `started`.
    const refused = await StreamTestClient.exec(sock, 'stopped', start(['true'], { armed: true }));
    const r = await refused.finished();
    assert.equal(r.error?.error, 'Instance is not running');
  });

  test('stdin is piped until its eof; input sent before the command started is kept', async () => {
    const c = await StreamTestClient.exec(sock, 'c1', start(['cat']));
    c.stdin('from-');
    c.stdin('stdin\n');
    c.eof();
    const t = await c.finished();
    assert.equal(t.stdout, 'from-stdin\n');
    assert.equal(t.exitCode, 0);
  });

  test('environment and exit codes: missing command 127, killed by a signal 128+N', async () => {
    const env = await (await StreamTestClient.exec(sock, 'c1', start(['sh', '-c', 'echo "$FOO"'], { env: { PATH: '/bin', FOO: 'bar' } }))).finished();
    assert.equal(env.stdout, 'bar\n');
    assert.equal((await (await StreamTestClient.exec(sock, 'c1', start(['/nonexistent']))).finished()).exitCode, 127);
    assert.equal((await (await StreamTestClient.exec(sock, 'c1', start(['sh', '-c', 'kill -9 $$']))).finished()).exitCode, 137);
  });

  test('a signal control message reaches the command (not its parent): sleep ends with 143', async () => {
    const c = await StreamTestClient.exec(sock, 'c1', start(['sleep', '100']));
    // Sent at once: held until the command is found under its parent.
    c.control({ type: 'signal', signal: 15 });
    const t = await c.finished();
    assert.equal(t.exitCode, 143);
  });

  test('refusals are error frames: container not running, bad start frame', async () => {
    const stopped = await (await StreamTestClient.exec(sock, 'stopped', start(['true']))).finished();
    assert.deepEqual(stopped.error, { error: 'Instance is not running', code: 'conflict' });
    assert.deepEqual(stopped.order, ['error']);
    const bad = await (await StreamTestClient.exec(sock, 'c1', start([]))).finished();
    assert.deepEqual(bad.error, { error: 'Missing command', code: 'bad_request' });
  });

  test('interactive: a pty of the requested size, output as the terminal wrote it, resize, hangup on eof', async () => {
    const c = await StreamTestClient.exec(sock, 'c1', start(['sh', '-c', 'tty; stty size; read x; stty size; cat'], { interactive: true, width: 100, height: 30 }));
    await c.waitForStdout(/30 100\n$/);
    assert.match(c.transcript.stdout, /^\/dev\/pts\/\d+\n30 100\n$/);
    c.control({ type: 'resize', width: 120, height: 40 });
    await new Promise((r) => setTimeout(r, 300));
    c.stdin('\n');
    await c.waitForStdout(/40 120\n$/);
    c.stdin('typed');
    await c.waitForStdout(/typed$/);
    c.eof();
    const t = await c.finished();
    assert.equal(t.exitCode, 129);
    assert.equal(t.stderr, '');
  });

  test('closing the connection kills a running command', async () => {
    const c = await StreamTestClient.exec(sock, 'c1', start(['sleep', '100']));
    await new Promise((r) => setTimeout(r, 200));
    const pid = c.transcript.started?.pid ?? 0;
    assert.ok(alive(pid));
    c.close();
    for (let i = 0; i < 100 && alive(pid); i++) await new Promise((r) => setTimeout(r, 20));
    assert.ok(!alive(pid));
    assert.equal(exec.active, 0);
  });

  test('other upgrade paths get 404; a wrong upgrade token 400', async () => {
    const status = (path: string, upgrade: string) =>
      new Promise<number>((resolve, reject) => {
        const req = request({ socketPath: sock, path, headers: { Connection: 'Upgrade', Upgrade: upgrade } });
        req.on('response', (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('upgrade', () => reject(new Error('upgraded')));
        req.on('error', reject);
        req.end();
      });
    assert.equal(await status('/instances/c1/console', 'lxdts-exec'), 404);
    assert.equal(await status('/instances/c1/exec', 'websocket'), 400);
  });
});
