// LXD's exec protocol end to end on the API side: the exec service, the operation websocket hub and a ws client
// speaking like `lxc exec` / pylxd, against a fake host agent that speaks the agent exec stream and runs local
// commands (the real agent and containers: exec.container.test.ts).
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { type Server, createServer, request } from 'node:http';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  type AgentExecControl,
  AgentExecFrameDecoder,
  AgentExecFrameKind,
  type AgentExecStart,
  encodeAgentExecFrame,
  encodeAgentExecJson,
} from '@lxdts/api-types';
import { constants } from 'node:os';
import { unixIdentity } from '../auth/identity.js';
import type { InstanceTarget } from '../instances/instance-target.js';
import { type ExecHarness, FdSocket, execPost, startExec, startExecHarness } from './exec-test-harness.js';

/** A host agent that runs exec streams as local processes (interactive: an echoing fake terminal). */
class FakeAgent {
  readonly starts: AgentExecStart[] = [];
  readonly controls: AgentExecControl[] = [];
  /** Commands actually run (an armed one only once the go came). */
  readonly ran: string[][] = [];
  private readonly server: Server = createServer((_req, res) => res.end());
  private readonly children = new Set<ChildProcess>();
  readonly sockets = new Set<Socket>();

  constructor() {
    this.server.on('upgrade', (req, socket: Socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      socket.on('end', () => socket.destroy()); // As the real agent: the API closing its end closes the stream.
      socket.write('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: lxdts-exec\r\n\r\n');
      const lxcName = decodeURIComponent(/^\/instances\/([^/]+)\/exec$/.exec(req.url ?? '')?.[1] ?? '');
      const decoder = new AgentExecFrameDecoder();
      let child: ChildProcess | undefined;
      let fake: { width: number; height: number } | undefined;
      let armed: AgentExecStart | undefined;
      const send = (b: Buffer) => !socket.destroyed && socket.write(b);
      socket.on('error', () => undefined);
      const run = (start: AgentExecStart) => {
        this.ran.push(start.command);
        if (start.interactive) {
          fake = { width: start.width, height: start.height };
          return;
        }
        const c = spawn(start.command[0] as string, start.command.slice(1), { env: start.env, stdio: 'pipe' });
        child = c;
        this.children.add(c);
        c.stdin.on('error', () => undefined);
        c.stdout.on('data', (d: Buffer) => send(encodeAgentExecFrame(AgentExecFrameKind.Data, 1, d)));
        c.stderr.on('data', (d: Buffer) => send(encodeAgentExecFrame(AgentExecFrameKind.Data, 2, d)));
        c.on('error', () => undefined);
        c.on('close', (code, signal) => {
          this.children.delete(c);
          send(encodeAgentExecFrame(AgentExecFrameKind.Eof, 1));
          send(encodeAgentExecFrame(AgentExecFrameKind.Eof, 2));
          exit(code ?? (signal ? 128 + constants.signals[signal] : c.exitCode === null ? 127 : -1));
        });
      };
      const exit = (code: number) => {
        send(encodeAgentExecJson(AgentExecFrameKind.Exit, { exitCode: code }));
        socket.end();
      };
      socket.on('close', () => child?.kill('SIGKILL'));
      socket.on('data', (chunk: Buffer) => {
        for (const f of decoder.push(chunk)) {
          if (f.kind === AgentExecFrameKind.Start) {
            const start = JSON.parse(f.payload.toString()) as AgentExecStart;
            this.starts.push(start);
            if (lxcName === 'gone') {
              send(encodeAgentExecJson(AgentExecFrameKind.Error, { error: 'Instance is not running', code: 'conflict' }));
              socket.end();
              return;
            }
            send(encodeAgentExecJson(AgentExecFrameKind.Started, { pid: 4242 }));
            // Armed: nothing runs before the go.
            if (start.armed) armed = start;
            else run(start);
          } else if (f.kind === AgentExecFrameKind.Data) {
            if (fake) send(encodeAgentExecFrame(AgentExecFrameKind.Data, 1, Buffer.from(f.payload.toString().toUpperCase())));
            else child?.stdin?.write(f.payload);
          } else if (f.kind === AgentExecFrameKind.Eof) {
            if (fake) {
              send(encodeAgentExecFrame(AgentExecFrameKind.Eof, 1));
              send(encodeAgentExecFrame(AgentExecFrameKind.Eof, 2));
              exit(0);
            } else child?.stdin?.end();
          } else if (f.kind === AgentExecFrameKind.Control) {
            const c = JSON.parse(f.payload.toString()) as AgentExecControl;
            if (c.type === 'go') {
              if (armed) run(armed);
              armed = undefined;
              continue;
            }
            this.controls.push(c);
            if (c.type === 'signal') child?.kill(c.signal as NodeJS.Signals & number);
            if (c.type === 'resize' && fake) send(encodeAgentExecFrame(AgentExecFrameKind.Data, 1, Buffer.from(`resized ${c.width}x${c.height}\r\n`)));
          }
        }
      });
    });
  }

  listen(path: string): Promise<void> {
    return new Promise((r) => this.server.listen(path, r));
  }

  async close(): Promise<void> {
    for (const c of this.children) c.kill('SIGKILL');
    for (const s of this.sockets) s.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

const target: InstanceTarget = {
  name: 'c1',
  project: 'default',
  lxcName: 'c1',
  rootfsPath: '/nonexistent-rootfs',
  status: 'Running',
  uidBase: 1000000,
  gidBase: 1000000,
  expandedConfig: { 'environment.FROM_CONFIG': 'yes', 'environment.TERM': 'ignored' },
};

describe('exec over LXD websockets (fake agent)', () => {
  let dir = '';
  let agent: FakeAgent;
  let h: ExecHarness;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lxdts-api-exec-'));
    agent = new FakeAgent();
    await agent.listen(join(dir, 'agent.socket'));
    h = await startExecHarness(dir, join(dir, 'agent.socket'), target);
  });
  after(async () => {
    await h.close();
    await agent.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('non-interactive: operation as LXD, separate output streams with barriers, exit code in metadata', async () => {
    const run = await startExec(h, execPost(['sh', '-c', 'echo out-line; echo err-line >&2; exit 3']));
    assert.equal(run.op.class, 'websocket');
    assert.equal(run.op.description, 'Executing command');
    assert.equal(run.op.status, 'Running');
    assert.equal(run.op.may_cancel, false);
    assert.deepEqual(run.op.resources, { containers: ['/1.0/containers/c1'], instances: ['/1.0/instances/c1'] });
    const meta = run.op.metadata as Record<string, unknown>;
    assert.deepEqual(Object.keys(meta), ['command', 'environment', 'fds', 'interactive']);
    assert.deepEqual(Object.keys(meta['fds'] as object), ['0', '1', '2', 'control']);
    for (const s of Object.values(meta['fds'] as Record<string, string>)) assert.match(s, /^[0-9a-f]{64}$/);
    assert.deepEqual(meta['environment'], {
      FROM_CONFIG: 'yes',
      HOME: '/root',
      LANG: 'C.UTF-8',
      PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      TERM: 'xterm',
      USER: 'root',
    });
    run.fds['0']?.sendBarrier();
    const final = await run.done;
    assert.equal(final.status, 'Success');
    assert.equal(final.metadata?.['return'], 3);
    assert.deepEqual(Object.keys(final.metadata ?? {}), ['command', 'environment', 'fds', 'interactive', 'return']);
    for (const [fd, text] of [['1', 'out-line\n'], ['2', 'err-line\n']] as const) {
      const s = run.fds[fd] as FdSocket;
      await s.waitFor((x) => x.hasBarrier());
      assert.equal(s.text(), text);
      assert.deepEqual(s.frames.at(-1), { binary: false, data: Buffer.alloc(0) });
      // Closed from the server side without a close frame (as gorilla's Conn.Close).
      assert.equal(await s.closed, 1006);
    }
    assert.equal(await run.fds['control']?.closed, 1006);
    // Agent start: LXD's cwd is $HOME; the environment as in the metadata.
    const start = agent.starts.at(-1);
    assert.equal(start?.cwd, '/root');
    assert.equal(start?.interactive, false);
    // Events: Running with the return code, then Success; the lifecycle event without requestor.
    const mine = h.events.filter((e) => (e.metadata as { id?: string }).id === run.op.id).map((e) => (e.metadata as { status: string }).status);
    assert.deepEqual(mine.slice(-2), ['Running', 'Success']);
    const life = h.events.find((e) => e.type === 'lifecycle');
    assert.deepEqual(life?.metadata, { action: 'instance-exec', source: '/1.0/instances/c1', context: { command: ['sh', '-c', 'echo out-line; echo err-line >&2; exit 3'] } });
  });

  test('stdin: binary frames then the barrier close the command input', async () => {
    const run = await startExec(h, execPost(['cat']));
    run.fds['0']?.sendBinary('from-');
    run.fds['0']?.sendBinary('stdin\n');
    run.fds['0']?.sendBarrier();
    const final = await run.done;
    assert.equal(final.metadata?.['return'], 0);
    await run.fds['1']?.waitFor((x) => x.hasBarrier());
    assert.equal(run.fds['1']?.text(), 'from-stdin\n');
  });

  test('exit 127 fails the operation with "Command not found" (126: "Command not executable")', async () => {
    const run = await startExec(h, execPost(['sh', '-c', 'exit 127']));
    run.fds['0']?.sendBarrier();
    const final = await run.done;
    assert.equal(final.status, 'Failure');
    assert.equal(final.err, 'Command not found');
    assert.equal(final.metadata?.['return'], 127);
    const r126 = await startExec(h, execPost(['sh', '-c', 'exit 126']));
    assert.equal((await r126.done).err, 'Command not executable');
  });

  test('control: a signal reaches the command; window-resize only when interactive', async () => {
    const run = await startExec(h, execPost(['sleep', '100']));
    run.fds['control']?.sendJson({ command: 'window-resize', args: { width: '100', height: '40' }, signal: 0 });
    run.fds['control']?.sendJson({ command: 'signal', args: null, signal: 15 });
    const final = await run.done;
    assert.equal(final.metadata?.['return'], 143);
    assert.deepEqual(agent.controls.slice(-1), [{ type: 'signal', signal: 15 }]);
  });

  test('interactive: fds 0 and control, the pty both ways on 0, window-resize forwarded, barrier ends it', async () => {
    const run = await startExec(h, execPost(['sh'], { interactive: true, width: 80, height: 24 }), ['control', '0']);
    assert.deepEqual(Object.keys(run.op.metadata?.['fds'] as object), ['0', 'control']);
    const tty = run.fds['0'] as FdSocket;
    tty.sendBinary('typed\r');
    await tty.waitFor((x) => x.text().includes('TYPED'));
    assert.deepEqual(agent.starts.at(-1) && { ...agent.starts.at(-1), env: undefined }, {
      command: ['sh'], env: undefined, cwd: '/root', uid: 0, gid: 0, interactive: true, width: 80, height: 24, armed: true,
    });
    run.fds['control']?.sendJson({ command: 'window-resize', args: { height: '40', width: '100' }, signal: 0 });
    await tty.waitFor((x) => x.text().includes('resized 100x40'));
    run.fds['control']?.sendJson({ command: 'window-resize', args: { height: 'x', width: '100' }, signal: 0 });
    tty.sendBarrier();
    const final = await run.done;
    assert.equal(final.metadata?.['return'], 0);
    await tty.waitFor((x) => x.hasBarrier());
    assert.deepEqual(agent.controls.filter((c) => c.type === 'resize').slice(-1), [{ type: 'resize', width: 100, height: 40 }]);
  });

  test('pylxd: no control socket, stdin closed at once, all websockets closed at the end', async () => {
    const run = await startExec(h, execPost(['sh', '-c', 'echo hello-from-pylxd'], { environment: {} }), ['0', '1', '2']);
    run.fds['0']?.sendBarrier();
    const final = await run.done;
    assert.equal(final.status, 'Success');
    await run.fds['1']?.waitFor((x) => x.hasBarrier());
    assert.equal(run.fds['1']?.text(), 'hello-from-pylxd\n');
    // No TERM from pylxd: the instance's environment.TERM applies.
    assert.equal((final.metadata?.['environment'] as Record<string, string>)['TERM'], 'ignored');
    for (const fd of ['0', '1', '2'] as const) assert.equal(await run.fds[fd]?.closed, 1006);
  });

  test('the client closing its control socket kills the command', async () => {
    const run = await startExec(h, execPost(['sleep', '100']));
    await new Promise((r) => setTimeout(r, 100));
    run.fds['control']?.ws.close();
    const final = await run.done;
    assert.equal(final.metadata?.['return'], 137);
  });

  test('refusals: not running, frozen, unknown instance, no command, negative uid', async () => {
    const post = execPost(['true']);
    const id = unixIdentity();
    await assert.rejects(h.service.exec('default', 'nope', post, id), { status: 404, message: 'Instance not found' });
    h.target.status = 'Stopped';
    await assert.rejects(h.service.exec('default', 'c1', post, id), { status: 400, message: 'Instance is not running' });
    h.target.status = 'Frozen';
    await assert.rejects(h.service.exec('default', 'c1', post, id), { status: 400, message: 'Instance is frozen' });
    h.target.status = 'Running';
    await assert.rejects(h.service.exec('default', 'c1', execPost([]), id), { status: 400, message: 'No command specified' });
  });

  test('websocket refusals: wrong secret 403, unknown operation 404, finished operation, plain GET 400', async () => {
    const status = (path: string, upgrade = true) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const headers: Record<string, string> = upgrade
          ? { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==' }
          : {};
        const req = request({ socketPath: h.socket, path, headers }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
        });
        req.on('upgrade', () => reject(new Error('upgraded')));
        req.on('error', reject);
        req.end();
      });
    const run = await startExec(h, execPost(['sleep', '100', 'refusals']), ['control']);
    const bad = await status(`/1.0/operations/${run.op.id}/websocket?secret=nope`);
    assert.equal(bad.status, 403);
    assert.deepEqual(JSON.parse(bad.body), { type: 'error', status: '', status_code: 0, operation: '', error_code: 403, error: 'not authorized', metadata: null });
    const secret = (run.op.metadata?.['fds'] as Record<string, string>)['control'];
    assert.equal((await status(`/1.0/operations/${run.op.id}/websocket?secret=${secret}`)).status, 500, 'already connected');
    assert.equal((await status('/1.0/operations/00000000-0000-0000-0000-000000000000/websocket?secret=x')).status, 404);
    assert.equal(h.hub.plainRequest(run.op.id, secret ?? '').status, 400);
    // Nobody connects 0, 1, 2: LXD gives up after 5 s.
    const final = await run.done;
    assert.equal(final.status, 'Failure');
    assert.equal(final.err, 'Timed out waiting for websockets to connect');
    // It was armed at the agent but never ran.
    assert.ok(agent.starts.some((s) => s.command.includes('refusals') && s.armed));
    assert.ok(!agent.ran.some((c) => c.includes('refusals')));
    assert.equal(JSON.parse((await status(`/1.0/operations/${run.op.id}/websocket?secret=${secret}`)).body).error, 'Only running operations can be connected');
  });

  test('wait-for-websocket=false: a task, no input, record-output files and their URLs', async () => {
    const op = await h.service.exec('default', 'c1', execPost(['sh', '-c', 'echo recorded; echo oops >&2; exit 2'], { 'wait-for-websocket': false, 'record-output': true }), unixIdentity());
    assert.equal(op.class, 'task');
    assert.equal(op.metadata, null);
    const final = await h.operations.wait(op.id, 30);
    assert.equal(final.status, 'Success');
    assert.deepEqual(final.metadata, {
      output: { '1': `/1.0/instances/c1/logs/exec_${op.id}.stdout`, '2': `/1.0/instances/c1/logs/exec_${op.id}.stderr` },
      return: 2,
    });
    const logs = join(dir, 'lxd', 'logs', 'c1');
    assert.equal(readFileSync(join(logs, `exec_${op.id}.stdout`), 'utf8'), 'recorded\n');
    assert.equal(readFileSync(join(logs, `exec_${op.id}.stderr`), 'utf8'), 'oops\n');
    const quiet = await h.service.exec('default', 'c1', execPost(['sh', '-c', 'cat; echo done'], { 'wait-for-websocket': false }), unixIdentity());
    assert.deepEqual((await h.operations.wait(quiet.id, 30)).metadata, { return: 0 });
    assert.ok(!existsSync(join(logs, `exec_${quiet.id}.stdout`)));
  });

  test('an agent refusal fails the operation with its message', async () => {
    // The fake agent calls this container stopped.
    const gone: InstanceTarget = { ...target, lxcName: 'gone' };
    const saved = { ...h.target };
    Object.assign(h.target, gone);
    const run = await startExec(h, execPost(['true']));
    const final = await run.done;
    Object.assign(h.target, saved);
    assert.equal(final.status, 'Failure');
    assert.equal(final.err, 'Instance is not running');
    assert.equal(final.metadata?.['return'], -1);
  });
});
