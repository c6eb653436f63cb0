// LXD's console protocol end to end on the API side: the console service, the operation websocket hub and a ws
// client speaking like `lxc console`, against a fake host agent that speaks the agent console stream (the real
// agent and containers: apps/agent/src/console/console.container.test.ts; the real client: e2e/src/console.e2e.test.ts).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { type Server, createServer } from 'node:http';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { after, before, beforeEach, describe, test } from 'node:test';
import {
  type AgentConsoleControl,
  type AgentConsoleStart,
  AgentExecFrameDecoder,
  AgentExecFrameKind,
  type Event,
  type Operation,
  encodeAgentExecFrame,
  encodeAgentExecJson,
} from '@lxdts/api-types';
import WebSocket from 'ws';
import { AgentClient } from '../agent/agent.client.js';
import { EventsService } from '../events/events.service.js';
import { OperationWebsocketHub } from '../exec/operation-websocket.hub.js';
import { ApiError, notFound } from '../http/api-error.js';
import type { InstanceTarget, InstanceTargetResolver } from '../instances/instance-target.js';
import { OperationsService } from '../operations/operations.service.js';
import { ConsoleService } from './console.service.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const bytesOf = async (body: Readable | Buffer): Promise<Buffer> => (Buffer.isBuffer(body) ? body : Buffer.concat(await body.toArray()));

/**
 * A host agent speaking the console stream: the console echoes input upper-cased. Containers: `c1` (running),
 * `busy` (console in use), `ends` (the console goes away once `stop()` is called). Also the console log endpoints.
 */
class FakeAgent {
  readonly starts: AgentConsoleStart[] = [];
  readonly controls: AgentConsoleControl[] = [];
  readonly detaches: string[] = [];
  readonly logRequests: string[] = [];
  log: Buffer | null = Buffer.from('boot line\r\n');
  private readonly server: Server;
  private readonly enders: (() => void)[] = [];

  constructor() {
    this.server = createServer((req, res) => {
      this.logRequests.push(`${req.method} ${req.url}`);
      if (req.method === 'POST' && req.url?.endsWith('/clear') && this.log) this.log = Buffer.alloc(0);
      if (req.method === 'GET' && this.log === null) {
        res.writeHead(404, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ error: 'open console.log: no such file or directory', code: 'not_found' }));
        return;
      }
      if (req.method === 'GET') {
        res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': this.log!.length });
        res.end(this.log);
        return;
      }
      res.setHeader('Content-Type', 'application/json');
      res.end('{}');
    });
    this.server.on('upgrade', (req, socket: Socket) => {
      socket.write('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: lxdts-console\r\n\r\n');
      const lxcName = decodeURIComponent(/^\/instances\/([^/]+)\/console$/.exec(req.url ?? '')?.[1] ?? '');
      const decoder = new AgentExecFrameDecoder();
      const send = (b: Buffer) => !socket.destroyed && socket.write(b);
      const exit = (detached: boolean) => {
        send(encodeAgentExecFrame(AgentExecFrameKind.Eof, 1));
        send(encodeAgentExecJson(AgentExecFrameKind.Exit, { detached, exitCode: 0 }));
        socket.end();
      };
      socket.on('data', (chunk: Buffer) => {
        for (const f of decoder.push(chunk)) {
          if (f.kind === AgentExecFrameKind.Start) {
            this.starts.push(JSON.parse(f.payload.toString()) as AgentConsoleStart);
            if (lxcName === 'busy') {
              send(encodeAgentExecJson(AgentExecFrameKind.Error, { error: 'The console is already in use', code: 'conflict' }));
              socket.end();
              return;
            }
            send(encodeAgentExecJson(AgentExecFrameKind.Started, { pid: 4242 }));
            if (lxcName === 'ends') {
              this.enders.push(() => {
                send(encodeAgentExecFrame(AgentExecFrameKind.Data, 1, Buffer.from('\r\n')));
                exit(false);
              });
            }
          } else if (f.kind === AgentExecFrameKind.Data) {
            send(encodeAgentExecFrame(AgentExecFrameKind.Data, 1, Buffer.from(f.payload.toString().toUpperCase())));
          } else if (f.kind === AgentExecFrameKind.Control) {
            this.controls.push(JSON.parse(f.payload.toString()) as AgentConsoleControl);
          } else if (f.kind === AgentExecFrameKind.Eof) {
            this.detaches.push(lxcName);
            exit(true);
          }
        }
      });
      socket.on('error', () => socket.destroy());
      // As the agent: the API's end of the connection ends the session.
      socket.on('end', () => socket.destroy());
    });
  }

  listen(path: string): Promise<void> {
    return new Promise((r) => this.server.listen(path, r));
  }

  /** The console of every `ends` session goes away. */
  stop(): void {
    for (const e of this.enders.splice(0)) e();
  }

  reset(): void {
    this.starts.length = 0;
    this.controls.length = 0;
    this.detaches.length = 0;
    this.logRequests.length = 0;
    this.log = Buffer.from('boot line\r\n');
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

interface Frame {
  binary: boolean;
  data: Buffer;
}

/** One websocket of a console operation, recording what the server sends. */
class Ws {
  readonly frames: Frame[] = [];
  readonly closed: Promise<number>;
  constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer, binary: boolean) => this.frames.push({ binary, data }));
    this.closed = new Promise((resolve) => ws.on('close', (code) => resolve(code)));
    ws.on('error', () => undefined);
  }

  static open(socket: string, opId: string, secret: string): Promise<Ws> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(`ws+unix://${socket}:/1.0/operations/${opId}/websocket?secret=${secret}`);
      const w = new Ws(ws);
      ws.once('open', () => resolve(w));
      ws.once('unexpected-response', (_req, res) => reject(new Error(`refused with ${res.statusCode}`)));
      ws.once('error', reject);
    });
  }

  text(): string {
    return Buffer.concat(this.frames.filter((f) => f.binary).map((f) => f.data)).toString('utf8');
  }

  async waitFor(test: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (!test()) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}; got ${JSON.stringify(this.text())}`);
      await sleep(20);
    }
  }
}

const targetOf = (name: string, status: string): InstanceTarget => ({
  name,
  project: 'default',
  lxcName: name,
  rootfsPath: '/nonexistent',
  status,
  uidBase: 0,
  gidBase: 0,
  expandedConfig: {},
});

describe('console operation (fake agent)', () => {
  let dir = '';
  let socket = '';
  let fake: FakeAgent;
  let agent: AgentClient;
  let operations: OperationsService;
  let hub: OperationWebsocketHub;
  let service: ConsoleService;
  let server: Server;
  const events: Event[] = [];
  const instances: Record<string, InstanceTarget> = {
    c1: targetOf('c1', 'Running'),
    busy: targetOf('busy', 'Running'),
    ends: targetOf('ends', 'Running'),
    off: targetOf('off', 'Stopped'),
    ice: targetOf('ice', 'Frozen'),
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'lxdts-console-api-'));
    fake = new FakeAgent();
    await fake.listen(join(dir, 'agent.socket'));
    agent = new AgentClient(join(dir, 'agent.socket'));
    const eventsService = new EventsService();
    eventsService.subscribe({ types: new Set(['operation', 'lifecycle']), project: null, send: (f) => events.push(JSON.parse(f) as Event) });
    operations = new OperationsService(eventsService);
    hub = new OperationWebsocketHub(operations);
    const resolver: InstanceTargetResolver = {
      resolve: async (project, name) => {
        const t = instances[name];
        if (!t || project !== 'default') throw notFound('Instance not found');
        return t;
      },
      url: (project, name) => `/1.0/instances/${name}${project === 'default' ? '' : `?project=${project}`}`,
      lifecycle: () => undefined,
    };
    service = new ConsoleService(resolver, agent, operations, eventsService, hub);
    socket = join(dir, 'unix.socket');
    server = createServer((_req, res) => res.end());
    server.on('upgrade', (req, sock, head) => {
      if (!hub.handleUpgrade(req, sock, head)) sock.destroy();
    });
    await new Promise<void>((r) => server.listen(socket, r));
  });
  beforeEach(() => {
    fake.reset();
    events.length = 0;
  });
  after(async () => {
    hub.close();
    operations.shutdown();
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
    agent.close();
    await fake.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const post = (name: string, over: Partial<{ width: number; height: number; type: string }> = {}) =>
    service.console('default', name, { width: 80, height: 24, type: 'console', ...over });
  /** POST then connect as the Go client: control first, then data. */
  const attach = async (name: string, order: ('control' | '0')[] = ['control', '0']) => {
    const op = await post(name);
    const fds = op.metadata?.['fds'] as Record<string, string>;
    const ws: Partial<Record<'control' | '0', Ws>> = {};
    for (const fd of order) ws[fd] = await Ws.open(socket, op.id, fds[fd]!);
    return { op, ws, done: operations.wait(op.id, 30) };
  };
  const refused = async (fn: () => Promise<unknown>, status: number, message: string) => {
    await assert.rejects(fn, (e: unknown) => e instanceof ApiError && e.status === status && e.message === message);
  };

  test("the operation as LXD 5.0.2 creates it, and the instance-console event", async () => {
    const { op, ws, done } = await attach('c1');
    assert.equal(op.class, 'websocket');
    assert.equal(op.description, 'Showing console');
    assert.deepEqual(op.resources, { containers: ['/1.0/containers/c1'], instances: ['/1.0/instances/c1'] });
    const fds = op.metadata?.['fds'] as Record<string, string>;
    assert.deepEqual(Object.keys(op.metadata ?? {}), ['fds']);
    assert.deepEqual(Object.keys(fds).sort(), ['0', 'control']);
    for (const s of Object.values(fds)) assert.match(s, /^[0-9a-f]{64}$/);
    const lifecycle = events.filter((e) => e.type === 'lifecycle').map((e) => e.metadata);
    assert.deepEqual(lifecycle, [{ action: 'instance-console', source: '/1.0/instances/c1', context: { type: 'console' } }]);
    ws.control!.ws.close();
    assert.equal((await done).status, 'Success');
  });

  test('refusals: type, state, unknown instance (LXD order and messages)', async () => {
    await refused(() => post('c1', { type: 'vga' }), 400, 'VGA console is only supported by virtual machines');
    await refused(() => post('off', { type: 'vga' }), 400, 'VGA console is only supported by virtual machines');
    await refused(() => post('c1', { type: 'x' }), 400, 'Unknown console type "x"');
    await refused(() => post('off'), 400, 'Instance is not running');
    await refused(() => post('ice'), 400, 'Instance is frozen');
    await refused(() => post('nope', { type: 'vga' }), 404, 'Instance not found');
    assert.equal(fake.starts.length, 0);
  });

  test('data both ways, the size at attach and window-resize; closing control detaches and the operation succeeds', async () => {
    const { ws, done } = await attach('c1');
    ws['0']!.ws.send(Buffer.from('hello'), { binary: true });
    await ws['0']!.waitFor(() => ws['0']!.text() === 'HELLO', 'echo');
    assert.deepEqual(fake.starts, [{ width: 80, height: 24 }]);
    ws.control!.ws.send(JSON.stringify({ command: 'window-resize', args: { width: '132', height: '50' } }));
    ws.control!.ws.send(JSON.stringify({ command: 'signal', signal: 9 })); // not for consoles: ignored
    ws.control!.ws.send('not json');
    await ws['0']!.waitFor(() => fake.controls.length > 0, 'resize');
    assert.deepEqual(fake.controls, [{ type: 'resize', width: 132, height: 50 }]);
    ws.control!.ws.close(1000, 'Detaching from console');
    const op = await done;
    assert.equal(op.status, 'Success');
    assert.deepEqual(fake.detaches, ['c1']);
    // "\n\r", then the data socket is closed from our side without a close frame (1006), as LXD's.
    assert.equal(await ws['0']!.closed, 1006);
    assert.equal(ws['0']!.text(), 'HELLO\n\r');
    // Text frames on the data socket are not input.
    assert.equal(ws['0']!.frames.filter((f) => !f.binary).length, 0);
  });

  test('input sent before the agent attached is kept; a resize before it too', async () => {
    const op = await post('c1');
    const fds = op.metadata?.['fds'] as Record<string, string>;
    const control = await Ws.open(socket, op.id, fds['control']!);
    control.ws.send(JSON.stringify({ command: 'window-resize', args: { width: '100', height: '30' } }));
    await sleep(50);
    const data = await Ws.open(socket, op.id, fds['0']!);
    data.ws.send(Buffer.from('early'), { binary: true });
    await data.waitFor(() => data.text() === 'EARLY', 'early input');
    assert.deepEqual(fake.controls, [{ type: 'resize', width: 100, height: 30 }]);
    control.ws.close();
    assert.equal((await operations.wait(op.id, 30)).status, 'Success');
  });

  test('a console already in use fails the operation with the reason', async () => {
    const { ws, done } = await attach('busy');
    const op = await done;
    assert.equal(op.status, 'Failure');
    assert.equal(op.err, 'The console is already in use');
    await ws['0']!.closed;
  });

  test('the console going away: a barrier on data; the operation ends when the client closes control', async () => {
    const { op, ws, done } = await attach('ends');
    await ws['0']!.waitFor(() => fake.starts.length === 1, 'attach');
    fake.stop();
    await ws['0']!.waitFor(() => ws['0']!.frames.some((f) => !f.binary && f.data.length === 0), 'barrier');
    assert.equal(ws['0']!.text().slice(0, 2), '\r\n');
    await sleep(100);
    assert.equal(operations.get(op.id).status, 'Running');
    ws.control!.ws.close();
    assert.equal((await done).status, 'Success');
    assert.deepEqual(fake.detaches, []);
  });

  test('without a control socket, closing the data socket detaches', async () => {
    const { ws, done } = await attach('c1', ['0']);
    await ws['0']!.waitFor(() => fake.starts.length === 1, 'attach');
    ws['0']!.ws.close();
    assert.equal((await done).status, 'Success');
    assert.deepEqual(fake.detaches, ['c1']);
  });

  test('closing control before connecting data: the operation succeeds without attaching', async () => {
    const { ws, done } = await attach('c1', ['control']);
    ws.control!.ws.close();
    assert.equal((await done).status, 'Success');
    assert.equal(fake.starts.length, 0);
  });

  test('a socket already connected is refused; a wrong secret is 403', async () => {
    const { op, ws, done } = await attach('c1');
    const fds = op.metadata?.['fds'] as Record<string, string>;
    await assert.rejects(Ws.open(socket, op.id, fds['0']!), /refused with 500/);
    await assert.rejects(Ws.open(socket, op.id, 'f'.repeat(64)), /refused with 403/);
    ws.control!.ws.close();
    await done;
  });

  test('console log: GET returns it, DELETE empties it, with their lifecycle events and LXD 404 messages', async () => {
    // Raw terminal bytes, not UTF-8, come through unchanged.
    fake.log = Buffer.from([0x68, 0x69, 0xff, 0xfe, 0x1b, 0x5b, 0x6d, 0x0d, 0x0a]);
    assert.deepEqual(await bytesOf(await service.log('default', 'c1')), fake.log);
    await service.clearLog('default', 'c1');
    assert.deepEqual(fake.log, Buffer.alloc(0));
    assert.deepEqual(fake.logRequests, ['GET /instances/c1/logs/console.log', 'POST /instances/c1/logs/console.log/clear']);
    const actions = events.filter((e) => e.type === 'lifecycle').map((e) => (e.metadata as { action: string }).action);
    assert.deepEqual(actions, ['instance-console-retrieved', 'instance-console-reset']);
    await refused(() => service.log('default', 'nope'), 404, 'Instance not found');
    // No console log yet: an empty one.
    fake.log = null;
    assert.deepEqual(await bytesOf(await service.log('default', 'c1')), Buffer.alloc(0));
    await refused(() => service.clearLog('default', 'nope'), 404, 'Failed to fetch instance "nope" in project "default": Instance not found');
  });

  test('daemon shutdown closes an attached console (the agent detaches with its connection)', async () => {
    const { op, ws } = await attach('c1');
    await ws['0']!.waitFor(() => fake.starts.length === 1, 'attach');
    hub.close();
    await ws['0']!.closed;
    const final: Operation = await operations.wait(op.id, 10);
    assert.notEqual(final.status, 'Running');
  });
});
