// `lxc console` with the real client against a real container (the busybox test image: busybox init, no getty, so
// everything goes through /dev/console written and read with `lxc exec`):
//   - `lxc console c --show-log` shows what was written to /dev/console; DELETE /console empties the log;
//   - an interactive `lxc console c` (driven through `script`, which gives the client its terminal) shows output
//     written after attaching, passes typed bytes to a reader of /dev/console, and detaches on the client's own
//     <ctrl>+a q, leaving the container running; output written while attached is in the log too;
//   - refusals: a second session while one is attached, a stopped instance, `--type vga` on a container;
//   - `lxc start c --console` attaches after starting.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { LXC_BIN, TestDaemon, busyboxImageDir, describeRun, errorEnvelopeProblems, trackPid, unixRequest, untrackPid } from './harness/index.js';

const isRoot = process.getuid?.() === 0;
const haveLxc = existsSync('/usr/bin/lxc-start') && existsSync('/usr/bin/lxc-console');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `lxc console NAME` (or other console-attaching arguments) on a terminal of its own (script), its input and output at hand. */
class InteractiveConsole {
  output = '';
  readonly exited: Promise<number>;
  private readonly child: ChildProcess;

  constructor(env: NodeJS.ProcessEnv, args: string) {
    // `script` spins on a closed input: its stdin stays open until it has exited.
    this.child = spawn('script', ['-qfec', `${LXC_BIN} ${args}`, '/dev/null'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    trackPid(this.child.pid);
    this.child.stdout!.on('data', (d: Buffer) => (this.output += d.toString('latin1')));
    this.child.stderr!.on('data', (d: Buffer) => (this.output += d.toString('latin1')));
    this.child.stdin!.on('error', () => undefined);
    this.exited = new Promise((resolve) =>
      this.child.on('exit', (code, signal) => {
        untrackPid(this.child.pid);
        this.child.stdin!.destroy();
        resolve(code ?? (signal ? -1 : 0));
      }),
    );
  }

  type(text: string): void {
    this.child.stdin!.write(text);
  }

  async waitFor(pattern: RegExp, timeoutMs = 15_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (!pattern.test(this.output)) {
      if (Date.now() > end) throw new Error(`never saw ${pattern}; the console showed ${JSON.stringify(this.output)}`);
      await sleep(50);
    }
  }

  /** The client's escape: <ctrl>+a, then q in a read of its own (the client looks at the first byte of each read). */
  async detach(): Promise<number> {
    this.type('\x01');
    await sleep(300);
    this.type('q');
    return this.result();
  }

  async result(timeoutMs = 15_000): Promise<number> {
    const code = await Promise.race([this.exited, sleep(timeoutMs).then(() => null)]);
    if (code === null) {
      this.kill();
      throw new Error(`lxc console did not exit; it showed ${JSON.stringify(this.output)}`);
    }
    return code;
  }

  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}

describe('lxc console (real client, real container)', { skip: !isRoot || !haveLxc ? 'needs root and liblxc (lxc-start, lxc-console)' : false }, () => {
  let d: TestDaemon;
  const consoles: InteractiveConsole[] = [];
  const ok = async (args: string[]) => {
    const r = await d.lxc(args);
    assert.equal(r.code, 0, describeRun(r));
    return r.stdout;
  };
  const status = async (name: string) => ((await d.client.query(`/1.0/instances/${name}/state`)).json as { status: string }).status;
  const attach = (name: string, args = `console ${name}`) => {
    const c = new InteractiveConsole(d.client.env(), args);
    consoles.push(c);
    return c;
  };

  before(async () => {
    d = await TestDaemon.start();
    const init = await d.cli(['init', '--auto']);
    assert.equal(init.code, 0, describeRun(init));
    const dir = await busyboxImageDir();
    await ok(['image', 'import', join(dir, 'busybox.tar.xz'), '--alias', 'busybox']);
    await ok(['launch', 'busybox', 'c']);
  });
  after(async () => {
    for (const c of consoles) c.kill();
    if (d) {
      await d.lxc(['delete', '--force', 'c']);
      await d.dispose();
    }
  });

  test('lxc console --show-log shows what was written to /dev/console; DELETE /console empties it', async () => {
    await ok(['exec', 'c', '--', 'sh', '-c', 'echo marker-log > /dev/console']);
    const log = await ok(['console', 'c', '--show-log']);
    assert.match(log, /Console log:/);
    assert.match(log, /marker-log/);
    const del = await d.client.query('/1.0/instances/c/console', { method: 'DELETE' });
    assert.equal(del.result.code, 0, describeRun(del.result));
    assert.doesNotMatch(await ok(['console', 'c', '--show-log']), /marker-log/);
  });

  test('interactive: output after attaching, typed input reaches /dev/console, <ctrl>+a q detaches, the container keeps running', async (t) => {
    const con = attach('c');
    await con.waitFor(/To detach from the console, press: <ctrl>\+a q/);
    // Written until the attached console shows it (the client connects its websockets after printing the hint).
    for (let i = 0; !/marker-live/.test(con.output); i++) {
      if (i === 40) throw new Error(`the console never showed marker-live: ${JSON.stringify(con.output)}`);
      await ok(['exec', 'c', '--', 'sh', '-c', 'echo marker-live > /dev/console']);
      await sleep(250);
    }
    // A reader of /dev/console inside gets a line typed on the console (the terminal there turns CR into LF).
    const reader = d.lxc(['exec', 'c', '--', 'head', '-n', '1', '/dev/console'], { timeoutMs: 20_000 });
    await sleep(500);
    con.type('typed-in\r');
    const got = await reader;
    assert.equal(got.code, 0, describeRun(got));
    assert.equal(got.stdout, 'typed-in\n');
    await con.waitFor(/typed-in\r+\n/);
    // One console session at a time (liblxc hands out one console proxy).
    const second = attach('c');
    assert.notEqual(await second.result(), 0);
    assert.match(second.output, /Error: The console is already in use/);
    assert.equal(await con.detach(), 0, con.output);
    t.diagnostic(`the console showed ${JSON.stringify(con.output)}`);
    assert.equal(await status('c'), 'Running');
    // Written while attached, so in the log as well; liblxc appends, so nothing is left of what DELETE removed.
    const log = await ok(['console', 'c', '--show-log']);
    assert.match(log, /marker-live/);
    assert.doesNotMatch(log, /\0|marker-log/);
    // The console is free again.
    const again = attach('c');
    await again.waitFor(/To detach from the console/);
    await sleep(1_000);
    await ok(['exec', 'c', '--', 'sh', '-c', 'echo marker-again > /dev/console']);
    await again.waitFor(/marker-again/);
    assert.equal(await again.detach(), 0, again.output);
  });

  test('the wire: POST /console answers a websocket operation as LXD 5.0.2; bad bodies, types and names are 400s', async () => {
    const post = (body: unknown, name = 'c') => unixRequest(d.socket, { method: 'POST', path: `/1.0/instances/${name}/console`, body });
    const r = await post({ width: 80, height: 24, type: 'console' });
    assert.equal(r.status, 202, r.text);
    const op = r.json.metadata;
    assert.equal(op.class, 'websocket');
    assert.equal(op.description, 'Showing console');
    assert.deepEqual(op.resources, { containers: ['/1.0/containers/c'], instances: ['/1.0/instances/c'] });
    assert.deepEqual(Object.keys(op.metadata.fds).sort(), ['0', 'control']);
    // Its websockets are never connected here: the operation keeps waiting, as LXD's (shutdown cancels it). A plain
    // GET of one without Upgrade is gorilla's refusal.
    const plain = await unixRequest(d.socket, { path: `/1.0/operations/${op.id}/websocket?secret=${op.metadata.fds.control}` });
    assert.equal(plain.status, 400);
    assert.equal((await d.client.query(`/1.0/operations/${op.id}`)).json.status, 'Running');
    const cases: [unknown, string, number, string][] = [
      ['', 'c', 400, 'unexpected end of JSON input'],
      ['{"width":"x"}', 'c', 400, 'json: cannot unmarshal string into Go struct field InstanceConsolePost.width of type int'],
      [{ type: 'vga' }, 'c', 400, 'VGA console is only supported by virtual machines'],
      [{ type: 'serial' }, 'c', 400, 'Unknown console type "serial"'],
      [{}, 'nope', 404, 'Instance not found'],
      [{}, 'c%2Fsnap', 400, 'Invalid instance name'],
    ];
    for (const [body, name, status, error] of cases) {
      const res = await post(body, name);
      assert.equal(res.status, status, `${JSON.stringify(body)} ${name}: ${res.text}`);
      assert.deepEqual(errorEnvelopeProblems(res), []);
      assert.equal(res.json.error, error);
    }
  });

  test('refusals: --type vga on a container, a stopped instance; lxc start --console attaches', async () => {
    const vga = await d.lxc(['console', 'c', '--type', 'vga']);
    assert.notEqual(vga.code, 0);
    assert.match(vga.stderr, /Error: VGA console is only supported by virtual machines/);
    await ok(['stop', 'c', '--force']);
    const stopped = attach('c');
    assert.notEqual(await stopped.result(), 0);
    assert.match(stopped.output, /Error: Instance is not running/);
    const started = attach('c', 'start c --console');
    await started.waitFor(/To detach from the console/);
    for (let i = 0; !/marker-start/.test(started.output); i++) {
      if (i === 40) throw new Error(`the console never showed marker-start: ${JSON.stringify(started.output)}`);
      await ok(['exec', 'c', '--', 'sh', '-c', 'echo marker-start > /dev/console']);
      await sleep(250);
    }
    assert.equal(await started.detach(), 0, started.output);
    assert.equal(await status('c'), 'Running');
  });
});
