// The websockets of one console operation, as LXD 5.0.2 serves them (checked against the real daemon):
//   - fds `0` (data: raw terminal bytes both ways, binary frames) and `control`, each with a secret;
//   - the console is attached once the data socket is connected (control is optional); nothing times out;
//   - control messages (text JSON) `window-resize` resize the console's terminal; others are ignored;
//   - the client closing the control socket detaches: "\n\r" is sent on the data socket, which is then closed from
//     our side (a plain TCP close, no close frame, as gorilla's Conn.Close), and the operation succeeds; the
//     container keeps running (LXD also writes a terminal reset, ESC c, into the console's input then: not done);
//   - when the console goes away by itself (the container stopped), a barrier (zero-length text frame) is sent on
//     the data socket and the operation ends once the client closes its control socket;
//   - without a control socket, closing the data socket detaches.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { AgentConsoleExit } from '@lxdts/api-types';
import type { RawData } from 'ws';
import { parseExecControl } from '../exec/exec-request.js';
import { OperationWebsocketSet, toBuffer } from '../exec/operation-websocket-set.js';
import type { OperationWebsocketHandler } from '../exec/operation-websocket.hub.js';
import type { AgentConsoleConnection } from './agent-console.connection.js';

export type ConsoleFd = '0' | 'control';

/** How the session started: the data socket connected, or the client left before it did. */
export type ConsoleBegin = 'connected' | 'detached';

export class ConsoleWebsockets implements OperationWebsocketHandler {
  private readonly sockets: OperationWebsocketSet<ConsoleFd>;
  /** Sockets the client has closed (or that never will connect again). */
  private readonly gone = new Set<ConsoleFd>();
  private readonly waiters: (() => void)[] = [];
  /** Input and the last window size that arrive before the console is attached. */
  private readonly inputQueue: Buffer[] = [];
  private size: { width: number; height: number } | undefined;
  private conn: AgentConsoleConnection | undefined;
  private detachRequested = false;
  private finished = false;
  private closed = false;

  constructor(private readonly log: (msg: string) => void = () => undefined) {
    this.sockets = new OperationWebsocketSet<ConsoleFd>({
      fds: ['0', 'control'],
      keepalive: false,
      accepting: () => !this.finished && !this.closed,
      connected: (fd, ws) => {
        if (fd === '0') ws.on('message', (data: RawData, isBinary: boolean) => isBinary && this.input(toBuffer(data)));
        else ws.on('message', (data: RawData) => this.controlMessage(toBuffer(data).toString('utf8')));
        this.wake();
      },
      closedByClient: (fd) => this.closedByClient(fd),
    });
  }

  /** `metadata.fds` of the operation. */
  fds(): Record<string, string> {
    return this.sockets.fds();
  }

  owns(s: string): boolean {
    return this.sockets.owns(s);
  }

  upgrade(s: string, req: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.sockets.upgrade(s, req, socket, head);
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** Resolves once the data socket is connected, or with `detached` when the client left first. */
  waitForData(): Promise<ConsoleBegin> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (this.closed) reject(new Error('Console websockets closed'));
        else if (this.detachRequested) resolve('detached');
        else if (this.sockets.has('0')) resolve('connected');
        else this.waiters.push(check);
      };
      check();
    });
  }

  /**
   * Relays between the sockets and the console until the session is over: resolves with how it ended (the data
   * socket has then been hung up); rejects when the agent connection is lost.
   */
  async run(conn: AgentConsoleConnection): Promise<AgentConsoleExit> {
    this.conn = conn;
    this.sockets.setOutputFlow(conn.stream);
    if (this.size) conn.resize(this.size.width, this.size.height);
    for (const d of this.inputQueue.splice(0)) this.toConsole(d);
    conn.attach({
      data: (chunk) => this.sockets.send('0', chunk),
      end: () => {
        // The console went away by itself: LXD's end-of-stream barrier.
        if (!this.detachRequested) this.sockets.send('0', null);
      },
    });
    if (this.detachRequested) conn.detach();
    try {
      return await conn.ended;
    } finally {
      this.finished = true;
      await this.farewell();
      this.sockets.hangUp(['0']);
    }
  }

  /** LXD's last words on the data socket ("\n\r": the client's terminal is left on a fresh line), written out. */
  private farewell(): Promise<void> {
    const ws = this.sockets.writable('0');
    if (!ws) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, 1_000);
      ws.send(Buffer.from('\n\r'), { binary: true }, () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Resolves once the client has closed its control socket (at once when it has none). */
  waitForControlClosed(): Promise<void> {
    return new Promise((resolve) => {
      const check = () => {
        if (this.closed || this.gone.has('control') || !this.sockets.has('control')) resolve();
        else this.waiters.push(check);
      };
      check();
    });
  }

  private input(data: Buffer): void {
    if (this.detachRequested || this.finished) return;
    if (this.conn) this.toConsole(data);
    else this.inputQueue.push(data);
  }

  private toConsole(data: Buffer): void {
    const conn = this.conn as AgentConsoleConnection;
    if (!conn.write(data)) {
      const ws = this.sockets.websocket('0');
      ws?.pause();
      conn.stream.onDrain(() => ws?.resume());
    }
  }

  private controlMessage(text: string): void {
    const c = parseExecControl(text, true);
    if (c?.type !== 'resize') return;
    this.size = { width: c.width, height: c.height };
    this.conn?.resize(c.width, c.height);
  }

  /** The client closing control detaches; closing data does when there is no control socket. */
  private closedByClient(fd: ConsoleFd): void {
    this.gone.add(fd);
    if (fd === 'control' || !this.sockets.has('control')) this.requestDetach(`the client closed websocket ${fd}`);
    this.wake();
  }

  private requestDetach(why: string): void {
    if (this.detachRequested || this.finished) return;
    this.detachRequested = true;
    this.log(`console: ${why}; detaching`);
    this.conn?.detach();
    this.wake();
  }

  /** Closes sockets from our side (TCP half-close, no close frame); the client's close completes it. */
  hangUp(fds?: ConsoleFd[]): void {
    this.sockets.hangUp(fds);
  }

  /** Daemon shutdown or a failed operation: everything goes, the agent detaches with its connection. */
  close(): void {
    this.closed = true;
    this.finished = true;
    this.wake();
    this.sockets.terminate();
    this.conn?.close();
  }
}
