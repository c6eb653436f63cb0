// Opening one of the agent's upgraded, framed streams (exec, console): the upgrade request, the start frame, and the
// wait for the agent's `started` (or `error`) frame. Framing: libs/api-types/src/agent/agent-exec.ts.
import { request } from 'node:http';
import type { Socket } from 'node:net';
import {
  type AgentErrorBody,
  type AgentErrorCode,
  type AgentExecFrame,
  AgentExecFrameDecoder,
  AgentExecFrameKind,
  encodeAgentExecJson,
} from '@lxdts/api-types';
import { AgentRequestError } from './agent.client.js';

const STATUS: Record<AgentErrorCode, number> = { bad_request: 400, not_found: 404, conflict: 409, timeout: 504, start_failed: 500, internal: 500 };

/** The agent's `{error, code}` as the error the API maps to a status. */
export const agentErrorOf = (body: AgentErrorBody): AgentRequestError =>
  new AgentRequestError(STATUS[body.code] ?? 500, body.code ?? 'internal', body.error);

export interface AgentStreamRequest<C> {
  socketPath: string;
  /** e.g. `/instances/c1/exec` */
  path: string;
  /** The `Upgrade:` token. */
  upgrade: string;
  /** Sent as the first (start) frame. */
  start: unknown;
  timeoutMs: number;
  /** For messages: "exec", "console". */
  name: string;
  /** For the timeout message: "start the command", "attach to the console". */
  action: string;
  /** Builds the connection from the `started` payload; `rest` are frames that came after it in the same read. */
  connect(socket: Socket, decoder: AgentExecFrameDecoder, started: Buffer, rest: AgentExecFrame[]): C;
}

/** Resolves once the agent reports `started`; rejects with AgentRequestError when it refuses or cannot be reached. */
export function openAgentStream<C>(o: AgentStreamRequest<C>): Promise<C> {
  return new Promise<C>((resolve, reject) => {
    let done = false;
    const finish = (fn: () => void) => {
      if (!done) {
        done = true;
        clearTimeout(timer);
        fn();
      }
    };
    const req = request({ socketPath: o.socketPath, agent: false, method: 'GET', path: o.path, headers: { Connection: 'Upgrade', Upgrade: o.upgrade } });
    const timer = setTimeout(() => {
      req.destroy();
      finish(() => reject(new AgentRequestError(504, 'timeout', `The host agent did not ${o.action} within ${o.timeoutMs} ms`)));
    }, o.timeoutMs);

    req.on('upgrade', (_res, socket: Socket, head: Buffer) => {
      const decoder = new AgentExecFrameDecoder();
      const pending: AgentExecFrame[] = [];
      const onData = (chunk: Buffer) => {
        let frames: AgentExecFrame[];
        try {
          frames = decoder.push(chunk);
        } catch (err) {
          socket.destroy();
          finish(() => reject(new AgentRequestError(502, 'internal', `Invalid data from the host agent: ${(err as Error).message}`)));
          return;
        }
        for (let i = 0; i < frames.length; i++) {
          const f = frames[i] as AgentExecFrame;
          if (f.kind === AgentExecFrameKind.Error) {
            socket.destroy();
            finish(() => reject(agentErrorOf(JSON.parse(f.payload.toString('utf8')) as AgentErrorBody)));
            return;
          }
          if (f.kind === AgentExecFrameKind.Started) {
            socket.off('data', onData);
            socket.off('close', onClose);
            const conn = o.connect(socket, decoder, f.payload, [...pending, ...frames.slice(i + 1)]);
            finish(() => resolve(conn));
            return;
          }
          pending.push(f);
        }
      };
      const onClose = () =>
        finish(() => reject(new AgentRequestError(502, 'internal', `The host agent closed the ${o.name} stream before it started`)));
      socket.on('data', onData);
      socket.on('close', onClose);
      socket.on('error', () => socket.destroy());
      socket.write(encodeAgentExecJson(AgentExecFrameKind.Start, o.start));
      if (head.length > 0) onData(head);
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        let body: Partial<AgentErrorBody> = {};
        try {
          body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as AgentErrorBody;
        } catch {
          // Keep the generic message.
        }
        const status = res.statusCode ?? 502;
        finish(() => reject(new AgentRequestError(status, body.code ?? 'internal', body.error ?? `Agent answered ${status} for the ${o.name} stream`)));
      });
    });
    req.on('error', (err: NodeJS.ErrnoException) => {
      finish(() => {
        if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED') {
          reject(new AgentRequestError(503, 'unavailable', `The host agent is not reachable on ${o.socketPath}: ${err.code}`));
        } else reject(new AgentRequestError(502, 'internal', `Agent request failed: ${err.message}`));
      });
    });
    req.end();
  });
}

/** Where a started stream's output goes; `end` comes once per stream, before the result settles. */
export interface AgentStreamOutput<S extends number> {
  data(stream: S, chunk: Buffer): void;
  end(stream: S): void;
}

export interface AgentStreamConnectionOptions<R, S extends number> {
  /** The output streams relayed (data on others is dropped). */
  outputs: readonly S[];
  /** The result, from the exit frame's JSON. */
  result(exit: unknown): R;
  /** The connection was lost before the exit frame: a result that still counts, or undefined (the loss rejects). */
  lostResult?(): R | undefined;
}

/**
 * The API's end of one started agent stream (exec, console): output frames go to a sink (held back until one is
 * attached), the exit frame resolves `result`, an error frame or a lost connection rejects it. The owner adds the
 * verbs of its protocol on top (stdin, signals, resize, detach) through `send`.
 */
export class AgentStreamConnection<R, S extends number> {
  readonly result: Promise<R>;
  private sink: AgentStreamOutput<S> | undefined;
  private readonly backlog: [S, Buffer | null][] = [];
  private resolve!: (result: R) => void;
  private reject!: (err: Error) => void;
  private settled = false;

  constructor(
    private readonly socket: Socket,
    decoder: AgentExecFrameDecoder,
    private readonly options: AgentStreamConnectionOptions<R, S>,
  ) {
    this.result = new Promise<R>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    this.result.catch(() => undefined);
    socket.on('data', (chunk: Buffer) => {
      try {
        for (const f of decoder.push(chunk)) this.frame(f);
      } catch (err) {
        this.lost(`Invalid data from the host agent: ${(err as Error).message}`);
      }
    });
    socket.on('close', () => this.lost('Lost the connection to the host agent'));
    socket.on('error', () => socket.destroy());
  }

  /** Output starts flowing to `sink` (what arrived before is delivered first). */
  attach(sink: AgentStreamOutput<S>): void {
    this.sink = sink;
    for (const [stream, chunk] of this.backlog.splice(0)) {
      if (chunk === null) sink.end(stream);
      else sink.data(stream, chunk);
    }
  }

  /** Frames that came in the same read as `started`. */
  deliver(frames: AgentExecFrame[]): void {
    for (const f of frames) this.frame(f);
  }

  get destroyed(): boolean {
    return this.socket.destroyed;
  }

  /** Writes a frame (nothing once the connection is gone); false: the connection is backed up, wait for `onDrain`. */
  send(frame: Buffer): boolean {
    if (this.socket.destroyed) return true;
    return this.socket.write(frame);
  }

  onDrain(fn: () => void): void {
    this.socket.once('drain', fn);
  }

  /** Output backpressure: stop reading from the agent until `resume`. */
  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  close(): void {
    this.socket.destroy();
  }

  private frame(f: AgentExecFrame): void {
    switch (f.kind) {
      case AgentExecFrameKind.Data:
      case AgentExecFrameKind.Eof: {
        const stream = f.stream as S;
        if (!this.options.outputs.includes(stream)) return;
        const chunk = f.kind === AgentExecFrameKind.Data ? f.payload : null;
        if (!this.sink) this.backlog.push([stream, chunk]);
        else if (chunk === null) this.sink.end(stream);
        else this.sink.data(stream, chunk);
        return;
      }
      case AgentExecFrameKind.Exit:
        this.settled = true;
        this.resolve(this.options.result(JSON.parse(f.payload.toString('utf8'))));
        return;
      case AgentExecFrameKind.Error:
        this.settled = true;
        this.reject(agentErrorOf(JSON.parse(f.payload.toString('utf8')) as AgentErrorBody));
    }
  }

  private lost(message: string): void {
    this.socket.destroy();
    if (this.settled) return;
    this.settled = true;
    const stillCounts = this.options.lostResult?.();
    if (stillCounts !== undefined) this.resolve(stillCounts);
    else this.reject(new AgentRequestError(502, 'internal', message));
  }
}
