// Test helper (used by the exec tests only): the exec service and the operation websocket hub behind a unix socket,
// and a client speaking LXD's exec protocol as the Go client and pylxd do (websockets per fd, barriers, control).
import { mkdirSync } from 'node:fs';
import { type Server, createServer } from 'node:http';
import { join } from 'node:path';
import type { Event, InstanceExecPost, Operation } from '@lxdts/api-types';
import WebSocket from 'ws';
import { AgentClient } from '../agent/agent.client.js';
import { unixIdentity } from '../auth/identity.js';
import { daemonPaths } from '../daemon/paths.js';
import { EventsService } from '../events/events.service.js';
import { notFound } from '../http/api-error.js';
import type { InstanceTarget, InstanceTargetResolver } from '../instances/instance-target.js';
import { OperationsService } from '../operations/operations.service.js';
import { ExecService } from './exec.service.js';
import { OperationWebsocketHub } from './operation-websocket.hub.js';

export interface ExecHarness {
  socket: string;
  service: ExecService;
  hub: OperationWebsocketHub;
  operations: OperationsService;
  events: Event[];
  target: InstanceTarget;
  close(): Promise<void>;
}

export async function startExecHarness(dir: string, agentSocket: string, target: InstanceTarget): Promise<ExecHarness> {
  const eventsService = new EventsService();
  const events: Event[] = [];
  eventsService.subscribe({ types: new Set(['operation', 'lifecycle']), project: null, send: (f) => events.push(JSON.parse(f) as Event) });
  const operations = new OperationsService(eventsService);
  const hub = new OperationWebsocketHub(operations);
  const resolver: InstanceTargetResolver = {
    resolve: async (project, name) => {
      if (name !== target.name || project !== target.project) throw notFound('Instance not found');
      return target;
    },
    url: (project, name) => `/1.0/instances/${name}${project === 'default' ? '' : `?project=${project}`}`,
    lifecycle: () => undefined,
  };
  const paths = daemonPaths(join(dir, 'lxd'));
  mkdirSync(paths.varDir, { recursive: true });
  const agent = new AgentClient(agentSocket);
  const service = new ExecService(resolver, agent, paths, operations, eventsService, hub);
  const socket = join(dir, 'unix.socket');
  const server: Server = createServer((_req, res) => res.end());
  server.on('upgrade', (req, sock, head) => {
    if (!hub.handleUpgrade(req, sock, head)) sock.destroy();
  });
  await new Promise<void>((r) => server.listen(socket, r));
  return {
    socket,
    service,
    hub,
    operations,
    events,
    target,
    close: async () => {
      hub.close();
      operations.shutdown();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      agent.close();
    },
  };
}

export const execPost = (command: string[], over: Partial<InstanceExecPost> = {}): InstanceExecPost => ({
  command,
  'wait-for-websocket': true,
  interactive: false,
  environment: { TERM: 'xterm' },
  width: 0,
  height: 0,
  'record-output': false,
  user: 0,
  group: 0,
  cwd: '',
  ...over,
});

export interface Frame {
  binary: boolean;
  data: Buffer;
}

/** One websocket of an exec operation, recording what the server sends. */
export class FdSocket {
  readonly frames: Frame[] = [];
  readonly closed: Promise<number>;
  private readonly waiters: (() => void)[] = [];

  constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer, binary: boolean) => {
      this.frames.push({ binary, data });
      for (const w of this.waiters.splice(0)) w();
    });
    this.closed = new Promise((resolve) => ws.on('close', (code) => resolve(code)));
    ws.on('error', () => undefined);
  }

  static open(socket: string, opId: string, secret: string): Promise<FdSocket> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(`ws+unix://${socket}:/1.0/operations/${opId}/websocket?secret=${secret}`);
      const fd = new FdSocket(ws);
      ws.once('open', () => resolve(fd));
      ws.once('unexpected-response', (_req, res) => reject(new Error(`refused with ${res.statusCode}`)));
      ws.once('error', reject);
    });
  }

  /** Binary payloads up to the barrier (a zero-length text frame). */
  text(): string {
    const out: Buffer[] = [];
    for (const f of this.frames) {
      if (!f.binary) break;
      out.push(f.data);
    }
    return Buffer.concat(out).toString('utf8');
  }

  hasBarrier(): boolean {
    return this.frames.some((f) => !f.binary && f.data.length === 0);
  }

  async waitFor(test: (s: FdSocket) => boolean, timeoutMs = 10_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (!test(this)) {
      if (Date.now() > end) throw new Error(`timed out; got ${JSON.stringify(this.text())}`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 100);
      });
    }
  }

  sendBinary(data: string | Buffer): void {
    this.ws.send(Buffer.from(data), { binary: true });
  }

  /** The end of input: a zero-length text frame. */
  sendBarrier(): void {
    this.ws.send('', { binary: false });
  }

  sendJson(value: unknown): void {
    this.ws.send(JSON.stringify(value), { binary: false });
  }
}

export interface ExecRun {
  op: Operation;
  fds: Partial<Record<'0' | '1' | '2' | 'control', FdSocket>>;
  /** The final operation (Success or Failure). */
  done: Promise<Operation>;
}

/** POST exec then connect the websockets in the Go client's order (control, 0, 1, 2). */
export async function startExec(h: ExecHarness, post: InstanceExecPost, connect: ('0' | '1' | '2' | 'control')[] = ['control', '0', '1', '2']): Promise<ExecRun> {
  const op = await h.service.exec(h.target.project, h.target.name, post, unixIdentity());
  const secrets = (op.metadata?.['fds'] ?? {}) as Record<string, string>;
  const fds: ExecRun['fds'] = {};
  for (const fd of connect) if (secrets[fd]) fds[fd] = await FdSocket.open(h.socket, op.id, secrets[fd]);
  return { op, fds, done: h.operations.wait(op.id, 30) };
}
