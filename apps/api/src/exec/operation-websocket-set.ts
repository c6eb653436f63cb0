// The websockets of one operation (exec, console): one secret per fd, at most one connection per fd, output with
// backpressure on the agent connection, and the way LXD closes them. What each fd carries is the owner's business
// (exec-websockets.ts, console-websockets.ts).
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { type RawData, type WebSocket, WebSocketServer } from 'ws';
import { internalError } from '../http/api-error.js';
import { writeError } from './operation-websocket.hub.js';

/** The agent connection the output comes from: paused while a client has too much unsent. */
export interface OutputFlow {
  pause(): void;
  resume(): void;
}

export interface OperationWebsocketSetOptions<Fd extends string> {
  fds: readonly Fd[];
  /** A "keepalive" ping on connect and every 10 s (exec, as LXD's execWs). */
  keepalive: boolean;
  /** Whether connections are still taken (false once the operation is over). */
  accepting(): boolean;
  /** A client connected `fd` (wire its messages here). */
  connected(fd: Fd, ws: WebSocket): void;
  /** The client closed `fd`. */
  closedByClient(fd: Fd): void;
}

interface Channel {
  ws: WebSocket;
  socket: Duplex;
  ping: NodeJS.Timeout | undefined;
}

const KEEPALIVE_MS = 10_000;
/** Output waits (the agent connection is paused) while a client has this much unsent. */
const HIGH_WATER = 4 * 1024 * 1024;

/** LXD's shared.RandomCryptoString: 32 random bytes, hex. */
const secret = (): string => randomBytes(32).toString('hex');

export function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

export class OperationWebsocketSet<Fd extends string> {
  private static readonly wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  private readonly secrets: Map<Fd, string>;
  private readonly channels = new Map<Fd, Channel>();
  private flow: OutputFlow | undefined;
  private paused = false;

  constructor(private readonly options: OperationWebsocketSetOptions<Fd>) {
    this.secrets = new Map(options.fds.map((fd) => [fd, secret()]));
  }

  /** `metadata.fds` of the operation. */
  fds(): Record<string, string> {
    return Object.fromEntries(this.secrets);
  }

  private fdOf(s: string): Fd | undefined {
    for (const [fd, value] of this.secrets) if (value === s) return fd;
    return undefined;
  }

  owns(s: string): boolean {
    return this.fdOf(s) !== undefined;
  }

  upgrade(s: string, req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const fd = this.fdOf(s) as Fd;
    if (this.channels.has(fd) || !this.options.accepting()) {
      writeError(socket, internalError('Websocket number already connected'));
      return;
    }
    OperationWebsocketSet.wss.handleUpgrade(req, socket, head, (ws) => {
      if (!this.options.accepting() || this.channels.has(fd)) {
        socket.destroy();
        return;
      }
      let ping: NodeJS.Timeout | undefined;
      if (this.options.keepalive) {
        ws.ping('keepalive');
        ping = setInterval(() => ws.ping('keepalive'), KEEPALIVE_MS);
        ping.unref();
      }
      this.channels.set(fd, { ws, socket, ping });
      ws.on('error', () => ws.terminate());
      ws.on('close', () => {
        clearInterval(this.channels.get(fd)?.ping);
        this.options.closedByClient(fd);
      });
      this.options.connected(fd, ws);
    });
  }

  /** Whether the client has connected `fd` (it may have closed it since). */
  has(fd: Fd): boolean {
    return this.channels.has(fd);
  }

  /** The websocket of `fd` once connected (to pause reading from it). */
  websocket(fd: Fd): WebSocket | undefined {
    return this.channels.get(fd)?.ws;
  }

  /** The websocket of `fd` while it can still be written to. */
  writable(fd: Fd): WebSocket | undefined {
    const ch = this.channels.get(fd);
    if (!ch || ch.ws.readyState !== ch.ws.OPEN || ch.socket.writableEnded) return undefined;
    return ch.ws;
  }

  /** Where `send` applies backpressure. */
  setOutputFlow(flow: OutputFlow): void {
    this.flow = flow;
  }

  /** Output on `fd`: a binary frame, or for null the barrier (a zero-length text frame). */
  send(fd: Fd, chunk: Buffer | null): void {
    const ws = this.writable(fd);
    if (!ws) return;
    ws.send(chunk ?? Buffer.alloc(0), { binary: chunk !== null }, () => {
      if (this.paused && ws.bufferedAmount < HIGH_WATER / 4) {
        this.paused = false;
        this.flow?.resume();
      }
    });
    if (!this.paused && ws.bufferedAmount > HIGH_WATER) {
      this.paused = true;
      this.flow?.pause();
    }
  }

  /** Closes sockets from our side (TCP half-close, no close frame); the client's close completes it. */
  hangUp(fds: readonly Fd[] = [...this.secrets.keys()]): void {
    for (const fd of fds) {
      const ch = this.channels.get(fd);
      if (!ch || ch.socket.writableEnded) continue;
      clearInterval(ch.ping);
      ch.socket.end();
      setTimeout(() => ch.socket.destroy(), 5_000).unref();
    }
  }

  /** Daemon shutdown or a failed operation: every socket goes at once. */
  terminate(): void {
    for (const ch of this.channels.values()) {
      clearInterval(ch.ping);
      ch.ws.terminate();
    }
  }
}
