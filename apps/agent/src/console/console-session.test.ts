// The console stream end to end on a real agent HTTP server, with a local program instead of lxc-console, on the
// same kind of terminal (`script` through ptyLaunch). The stand-in behaves as lxc-console does where it matters:
// it sets its terminal up late (IGNPAR on) after throwing away whatever input was pending (lxc-console's
// TCSAFLUSH), echoes lines, answers `size` with its terminal size, exits cleanly on SIGTERM, and reports attach
// failures as liblxc ERROR lines on its stderr (fd 3).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import type { AgentConsoleStart } from '@lxdts/api-types';
import { conflict } from '../errors.js';
import { createProcessRunner } from '../process/run.js';
import { StreamTestClient } from '../testing/stream-test-client.js';
import { type StreamTestServer, processAlive as alive, serveStreamForTest, streamTestLogger } from '../testing/stream-test-server.js';
import { type ConsoleLaunch, initialTerminalSettings, ptyLaunch } from './console-command.js';
import type { ConsoleLauncher } from './console-launcher.js';
import { ConsoleStreamServer } from './console-stream.server.js';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The stand-in console program, by container name. */
const PROGRAMS: Record<string, string> = {
  // Late set-up (pending input discarded), then a line echo loop.
  console: [
    'sleep 0.3',
    'timeout 0.2 cat >/dev/null',
    'stty ignpar',
    "trap 'exit 0' TERM",
    'while IFS= read -r l; do case "$l" in size) stty size;; bye) exit 0;; *) echo "got:$l";; esac; done',
  ].join('; '),
  busy: 'echo "lxc-console: busy: ../src/lxc/commands.c: lxc_cmd_get_tty_fd: 1200 Bad file descriptor - Denied access to tty" >&3; exit 1',
  // Never sets its terminal up.
  slow: 'exec cat',
};

/** How often each session's launch was told that the window changed (liblxc's monitor gets SIGWINCH then). */
let windowChanges = 0;

const localLauncher: ConsoleLauncher = {
  async prepare(lxcName: string, start: AgentConsoleStart): Promise<ConsoleLaunch> {
    if (lxcName === 'stopped') throw conflict('Instance is not running');
    const program = PROGRAMS[lxcName];
    if (!program) throw conflict(`no stand-in for ${lxcName}`);
    return { ...ptyLaunch(`${initialTerminalSettings(start.width, start.height)} && ${program}`), windowChanged: () => windowChanges++ };
  },
};

describe('console stream (local stand-in for lxc-console)', () => {
  let sock = '';
  let server: StreamTestServer;
  let consoles: ConsoleStreamServer;

  before(async () => {
    const log = streamTestLogger();
    consoles = new ConsoleStreamServer({ runner: createProcessRunner(log), launcher: localLauncher, log, attachTimeoutMs: 1_500, detachGraceMs: 1_000 });
    server = await serveStreamForTest(consoles, 'lxdts-console-');
    sock = server.sock;
  });
  after(() => server.close());

  test('started once the program has set its terminal up; input sent before is kept; output relayed', async () => {
    const c = await StreamTestClient.console(sock, 'console', { width: 80, height: 24 });
    c.stdin('early\n');
    await c.waitFor((t) => t.started !== null, 'started');
    await c.waitForStdout(/got:early\n/);
    c.stdin('second\n');
    await c.waitForStdout(/got:second\n/);
    assert.equal(c.transcript.order[0], 'started');
    c.stdin('bye\n');
    const t = await c.finished();
    assert.deepEqual(t.exit, { detached: false, exitCode: 0 });
    assert.deepEqual(t.order.slice(-2), ['eof1', 'exit']);
  });

  test('initial size and window-resize reach the terminal; the launch hears of each change', async () => {
    windowChanges = 0;
    const c = await StreamTestClient.console(sock, 'console', { width: 100, height: 40 });
    c.stdin('size\n');
    await c.waitForStdout(/40 100\n/);
    assert.equal(windowChanges, 1);
    c.resize(120, 50);
    await sleep(400);
    c.stdin('size\n');
    await c.waitForStdout(/50 120\n/);
    // After the stty, twice (lxc-console passes the size on asynchronously).
    assert.equal(windowChanges, 3);
    c.close();
  });

  test('a resize before the program is attached is applied once it is', async () => {
    const c = await StreamTestClient.console(sock, 'console', { width: 80, height: 24 });
    c.resize(90, 30);
    await c.waitFor((t) => t.started !== null, 'started');
    await sleep(300);
    c.stdin('size\n');
    await c.waitForStdout(/30 90\n/);
    c.close();
  });

  test('detach (eof): the program gets SIGTERM, the session ends with exit {detached}', async () => {
    const c = await StreamTestClient.console(sock, 'console', { width: 80, height: 24 });
    await c.waitFor((t) => t.started !== null, 'started');
    const pid = c.transcript.started!.pid;
    c.eof();
    const t = await c.finished();
    assert.deepEqual(t.exit, { detached: true, exitCode: 0 });
    assert.equal(alive(pid), false);
  });

  test('detach right after the start frame, before the program is attached', async () => {
    const c = await StreamTestClient.console(sock, 'console', { width: 80, height: 24 });
    c.eof();
    const t = await c.finished();
    assert.equal(t.exit?.detached, true);
    assert.equal(t.error, null);
  });

  test('a closed connection ends the program', async () => {
    const c = await StreamTestClient.console(sock, 'console', { width: 80, height: 24 });
    await c.waitFor((t) => t.started !== null, 'started');
    const pid = c.transcript.started!.pid;
    const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(' ').map(Number);
    c.close();
    for (let i = 0; i < 50 && (alive(pid) || children.some(alive)); i++) await sleep(50);
    assert.equal(alive(pid), false);
    assert.equal(children.some(alive), false);
    assert.equal(consoles.active, 0);
  });

  test('attach failure: an error frame with the reason from liblxc, no started', async () => {
    const t = await (await StreamTestClient.console(sock, 'busy', { width: 80, height: 24 })).finished();
    assert.deepEqual(t.error, { error: 'The console is already in use', code: 'conflict' });
    assert.equal(t.started, null);
    const stopped = await (await StreamTestClient.console(sock, 'stopped', { width: 0, height: 0 })).finished();
    assert.deepEqual(stopped.error, { error: 'Instance is not running', code: 'conflict' });
  });

  test('a program that never sets its terminal up still gets attached after the timeout', async () => {
    const c = await StreamTestClient.console(sock, 'slow', { width: 80, height: 24 });
    await c.waitFor((t) => t.started !== null, 'started', 5_000);
    c.stdin('raw-bytes');
    await c.waitForStdout(/raw-bytes/);
    c.eof();
    const t = await c.finished();
    assert.equal(t.exit?.detached, true);
  });

  test('bad start frame: bad_request', async () => {
    const c = await StreamTestClient.console(sock, 'console', { width: 'x' } as unknown as AgentConsoleStart);
    const t = await c.finished();
    assert.equal(t.error?.code, 'bad_request');
  });
});
