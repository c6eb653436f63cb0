// One client connection to one dqlite node: handshake, framing, one request at a time, a timeout on every request.
// The server answers requests strictly in order and never answers some of them (unknown types, HEARTBEAT), so a
// request without an answer in time destroys the connection: nothing that follows on it could be trusted.
import { connect as netConnect, type Socket } from 'node:net';
import { ConnectionError, ProtocolError, TimeoutError } from './errors.js';
import { handshake } from './requests.js';
import { type Frame, readHeader } from './responses.js';

/** Opens a byte stream to a node address (e.g. through a TLS tunnel). The default dials "host:port" or a unix path. */
export type Dialer = (address: string, timeoutMs: number) => Promise<Socket>;

export interface ConnectionOptions {
  connectTimeoutMs?: number;
  dial?: Dialer;
}

/** Receives every frame of one request's answer; returns `undefined` while more frames are expected. */
export type FrameCollector<T> = (frame: Frame) => T | undefined;

interface InFlight {
  collect: FrameCollector<unknown>;
  resolve(v: unknown): void;
  reject(e: unknown): void;
  timer: NodeJS.Timeout;
}

/** "host:port", "[v6]:port" or an absolute unix socket path. */
export function parseAddress(address: string): { host: string; port: number } | { path: string } {
  if (address.startsWith('/')) return { path: address };
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(address);
  if (!m) throw new ConnectionError(`invalid dqlite address '${address}' (expected host:port)`, false);
  return { host: (m[1] ?? m[2])!, port: Number(m[3]) };
}

export const defaultDialer: Dialer = (address, timeoutMs) =>
  new Promise((resolve, reject) => {
    let target: { host: string; port: number } | { path: string };
    try {
      target = parseAddress(address);
    } catch (err) {
      reject(err);
      return;
    }
    const socket = netConnect(target);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new TimeoutError(`connecting to ${address} timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve(socket);
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(new ConnectionError(`cannot connect to ${address}: ${err.message}`, false, { cause: err }));
    });
  });

export class DqliteConnection {
  private buffered: Buffer = Buffer.alloc(0);
  private current: InFlight | null = null;
  /** Serialises requests: each one starts when the previous has fully completed. */
  private tail: Promise<unknown> = Promise.resolve();
  private closedReason: Error | null = null;

  private constructor(
    readonly address: string,
    private readonly socket: Socket,
  ) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.fail(new ConnectionError(`connection to ${address} failed: ${err.message}`, true, { cause: err })));
    socket.on('close', () => this.fail(new ConnectionError(`connection to ${address} closed`, true)));
  }

  static async open(address: string, options: ConnectionOptions = {}): Promise<DqliteConnection> {
    const timeoutMs = options.connectTimeoutMs ?? 5000;
    const socket = await (options.dial ?? defaultDialer)(address, timeoutMs);
    const conn = new DqliteConnection(address, socket);
    socket.write(handshake());
    return conn;
  }

  /** True once the connection failed, timed out or was closed; it then rejects every request. */
  get closed(): boolean {
    return this.closedReason !== null;
  }

  /**
   * Sends one request and resolves with what `collect` makes of its answer. Requests queue behind each other.
   * On timeout the connection is destroyed and the request rejects with TimeoutError.
   */
  request<T>(message: Buffer, timeoutMs: number, collect: FrameCollector<T>): Promise<T> {
    const run = (): Promise<T> =>
      new Promise<T>((resolve, reject) => {
        if (this.closedReason) {
          reject(new ConnectionError(`connection to ${this.address} is closed (${this.closedReason.message})`, false));
          return;
        }
        const timer = setTimeout(() => {
          this.destroy(new TimeoutError(`no answer from ${this.address} within ${timeoutMs} ms`));
        }, timeoutMs);
        this.current = {
          collect: collect as FrameCollector<unknown>,
          resolve: resolve as (v: unknown) => void,
          reject,
          timer,
        };
        this.socket.write(message);
      });
    const result = this.tail.then(run, run);
    this.tail = result.catch(() => undefined);
    return result;
  }

  /** Closes the connection; queued requests fail with ConnectionError. */
  close(): void {
    this.destroy(new ConnectionError(`connection to ${this.address} closed by the client`, false));
  }

  private destroy(reason: Error): void {
    this.fail(reason);
    this.socket.destroy();
  }

  private fail(reason: Error): void {
    if (!this.closedReason) this.closedReason = reason;
    const inflight = this.current;
    if (inflight) {
      this.current = null;
      clearTimeout(inflight.timer);
      inflight.reject(reason);
    }
  }

  private onData(chunk: Buffer): void {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    let at = 0;
    while (this.buffered.length - at >= 8) {
      const { bodyBytes, type, schema } = readHeader(this.buffered, at);
      if (this.buffered.length - at < 8 + bodyBytes) break;
      const body = this.buffered.subarray(at + 8, at + 8 + bodyBytes);
      at += 8 + bodyBytes;
      this.deliver({ type, schema, body });
      if (this.closedReason) return;
    }
    this.buffered = at === this.buffered.length ? Buffer.alloc(0) : this.buffered.subarray(at);
  }

  private deliver(frame: Frame): void {
    const inflight = this.current;
    if (!inflight) {
      this.destroy(new ProtocolError(`unexpected message type ${frame.type} from ${this.address}`));
      return;
    }
    let value: unknown;
    try {
      value = inflight.collect(frame);
    } catch (err) {
      // A FAILURE ends the request normally; a message we cannot decode leaves the stream in an unknown state.
      this.finish(inflight);
      inflight.reject(err);
      if (err instanceof ProtocolError) this.destroy(err);
      return;
    }
    if (value === undefined) return;
    this.finish(inflight);
    inflight.resolve(value);
  }

  private finish(inflight: InFlight): void {
    clearTimeout(inflight.timer);
    this.current = null;
  }
}
