// The websockets of one exec operation, as LXD 5.0.2 serves them (lxd/instance_exec.go execWs):
//   - fds `0`, `1`, `2` and `control` (non-interactive) or `0` and `control` (interactive), each with a secret;
//   - the command starts once the required ones (all but control) are connected, within 5 s;
//   - data frames are binary; end of a stream is a zero-length text frame, both ways (any text frame on the
//     stdin socket ends the input, as LXD's WebsocketRecvStream);
//   - control messages (text JSON) resize the pty or send a signal; closing the control socket while the command
//     runs kills it (also closing stdout when there is no control socket);
//   - each socket gets a "keepalive" ping on connect and every 10 s;
//   - when the command ends: control is closed first, the output barriers have been sent, then the others close.
//     Closing is a plain TCP close without a websocket close frame (gorilla's Conn.Close, which LXD calls), done
//     as a half-close so nothing still in flight is lost.
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { AgentExecControl } from '@lxdts/api-types';
import { type RawData, type WebSocket, WebSocketServer } from 'ws';
import { internalError } from '../http/api-error.js';
import type { AgentExecConnection, OutputStream } from './agent-exec.connection.js';
import { parseExecControl } from './exec-request.js';
import { type OperationWebsocketHandler, writeError } from './operation-websocket.hub.js';

export type ExecFd = '0' | '1' | '2' | 'control';

interface Channel {
  ws: WebSocket;
  socket: Duplex;
  ping: NodeJS.Timeout;
}

const KEEPALIVE_MS = 10_000;
/** Output waits (the agent connection is paused) while a client has this much unsent. */
const HIGH_WATER = 4 * 1024 * 1024;

/** LXD's shared.RandomCryptoString: 32 random bytes, hex. */
const secret = (): string => randomBytes(32).toString('hex');

export class ExecWebsockets implements OperationWebsocketHandler {
  private static readonly wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  private readonly secrets: Map<ExecFd, string>;
  private readonly channels = new Map<ExecFd, Channel>();
  private readonly waiters: (() => void)[] = [];
  /** Input and control messages that arrive before the command runs. */
  private readonly stdinQueue: (Buffer | null)[] = [];
  private readonly controlQueue: AgentExecControl[] = [];
  private conn: AgentExecConnection | undefined;
  private stdinEnded = false;
  private finished = false;
  private paused = false;

  constructor(
    readonly interactive: boolean,
    private readonly log: (msg: string) => void = () => undefined,
  ) {
    const fds: ExecFd[] = interactive ? ['0', 'control'] : ['0', '1', '2', 'control'];
    this.secrets = new Map(fds.map((fd) => [fd, secret()]));
  }

  /** `metadata.fds` of the operation. */
  fds(): Record<string, string> {
    return Object.fromEntries(this.secrets);
  }

  private fdOf(s: string): ExecFd | undefined {
    for (const [fd, value] of this.secrets) if (value === s) return fd;
    return undefined;
  }

  owns(s: string): boolean {
    return this.fdOf(s) !== undefined;
  }

  upgrade(s: string, req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const fd = this.fdOf(s) as ExecFd;
    if (this.channels.has(fd) || this.finished) {
      writeError(socket, internalError('Websocket number already connected'));
      return;
    }
    ExecWebsockets.wss.handleUpgrade(req, socket, head, (ws) => {
      if (this.finished || this.channels.has(fd)) {
        socket.destroy();
        return;
      }
      ws.ping('keepalive');
      const ping = setInterval(() => ws.ping('keepalive'), KEEPALIVE_MS);
      ping.unref();
      this.channels.set(fd, { ws, socket, ping });
      ws.on('error', () => ws.terminate());
      ws.on('close', () => this.closedByClient(fd));
      if (fd === '0') ws.on('message', (data: RawData, isBinary: boolean) => this.stdin(isBinary ? toBuffer(data) : null));
      if (fd === 'control') ws.on('message', (data: RawData) => this.controlMessage(toBuffer(data).toString('utf8')));
      for (const w of this.waiters.splice(0)) w();
    });
  }

  private required(): ExecFd[] {
    return this.interactive ? ['0'] : ['0', '1', '2'];
  }

  /** Resolves once every required socket is connected; rejects as LXD after `timeoutMs`. */
  waitForRequired(timeoutMs = 5_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('Timed out waiting for websockets to connect')), timeoutMs);
      const check = () => {
        if (this.required().every((fd) => this.channels.has(fd))) {
          clearTimeout(timer);
          resolve();
        } else this.waiters.push(check);
      };
      check();
    });
  }

  /**
   * Relays between the sockets and the running command until it exits; resolves with its exit code after
   * the output barriers were sent and the control socket was closed.
   */
  async run(conn: AgentExecConnection): Promise<number> {
    this.conn = conn;
    for (const c of this.controlQueue.splice(0)) conn.control(c);
    for (const d of this.stdinQueue.splice(0)) this.toCommand(d);
    conn.attach({
      data: (stream, chunk) => {
        const fd = this.outputFd(stream);
        if (fd) this.send(fd, chunk);
        else this.log(`exec pty helper: ${chunk.toString('utf8').trim()}`);
      },
      end: (stream) => {
        const fd = this.outputFd(stream);
        if (fd) this.send(fd, null);
      },
    });
    try {
      return await conn.exited;
    } finally {
      this.finished = true;
      this.hangUp(['control']);
    }
  }

  /** Interactive output (the pty) goes to socket 0; stderr there is the pty helper's own, not the command's. */
  private outputFd(stream: OutputStream): ExecFd | null {
    if (this.interactive) return stream === 1 ? '0' : null;
    return stream === 1 ? '1' : '2';
  }

  private send(fd: ExecFd, chunk: Buffer | null): void {
    const ch = this.channels.get(fd);
    if (!ch || ch.ws.readyState !== ch.ws.OPEN || ch.socket.writableEnded) return;
    // The barrier: a zero-length text message.
    ch.ws.send(chunk ?? Buffer.alloc(0), { binary: chunk !== null }, () => {
      if (this.paused && ch.ws.bufferedAmount < HIGH_WATER / 4) {
        this.paused = false;
        this.conn?.resume();
      }
    });
    if (!this.paused && ch.ws.bufferedAmount > HIGH_WATER) {
      this.paused = true;
      this.conn?.pause();
    }
  }

  private stdin(data: Buffer | null): void {
    if (this.stdinEnded) return;
    if (data === null) this.stdinEnded = true;
    if (this.conn) this.toCommand(data);
    else this.stdinQueue.push(data);
  }

  private toCommand(data: Buffer | null): void {
    const conn = this.conn as AgentExecConnection;
    if (data === null) {
      conn.endStdin();
      return;
    }
    if (!conn.writeStdin(data)) {
      const ws = this.channels.get('0')?.ws;
      ws?.pause();
      conn.onDrain(() => ws?.resume());
    }
  }

  private controlMessage(text: string): void {
    const c = parseExecControl(text, this.interactive);
    if (!c) return;
    if (this.conn) this.conn.control(c);
    else this.controlQueue.push(c);
  }

  /** A client leaving while the command runs: its control socket, or stdout when it never had one. */
  private closedByClient(fd: ExecFd): void {
    const ch = this.channels.get(fd);
    if (ch) clearInterval(ch.ping);
    if (this.finished || !this.conn) return;
    if (fd === 'control' || (fd === '1' && !this.channels.has('control'))) {
      this.log(`exec: the client closed websocket ${fd}; killing the command`);
      this.conn.control({ type: 'signal', signal: 9 });
    }
  }

  /** Closes sockets from our side (TCP half-close, no close frame); the client's close completes it. */
  hangUp(fds: ExecFd[] = [...this.secrets.keys()]): void {
    for (const fd of fds) {
      const ch = this.channels.get(fd);
      if (!ch || ch.socket.writableEnded) continue;
      clearInterval(ch.ping);
      ch.socket.end();
      setTimeout(() => ch.socket.destroy(), 5_000).unref();
    }
  }

  /** Daemon shutdown or a failed operation: everything goes, the command is killed with the agent connection. */
  close(): void {
    this.finished = true;
    for (const w of this.waiters.splice(0)) w();
    for (const ch of this.channels.values()) {
      clearInterval(ch.ping);
      ch.ws.terminate();
    }
    this.conn?.close();
  }
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}
