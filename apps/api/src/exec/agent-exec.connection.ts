// The API's end of the agent's exec stream (protocol: libs/api-types/src/agent/agent-exec.ts): one upgraded
// connection per command. AgentClient.execStream opens it; the exec websockets drive it.
import { request } from 'node:http';
import type { Socket } from 'node:net';
import {
  AGENT_EXEC_UPGRADE,
  type AgentErrorBody,
  type AgentErrorCode,
  type AgentExecControl,
  type AgentExecExit,
  type AgentExecFrame,
  AgentExecFrameDecoder,
  AgentExecFrameKind,
  type AgentExecStart,
  type AgentExecStarted,
  AgentExecStream,
  agentExecPath,
  encodeAgentExecFrame,
  encodeAgentExecJson,
} from '@lxdts/api-types';
import { AgentRequestError } from '../agent/agent.client.js';

export type OutputStream = typeof AgentExecStream.Stdout | typeof AgentExecStream.Stderr;

/** Where the command's output goes; `end` comes once per stream, before `exited` resolves. */
export interface AgentExecOutput {
  data(stream: OutputStream, chunk: Buffer): void;
  end(stream: OutputStream): void;
}

const STATUS: Record<AgentErrorCode, number> = { bad_request: 400, not_found: 404, conflict: 409, timeout: 504, start_failed: 500, internal: 500 };

const errorOf = (body: AgentErrorBody): AgentRequestError => new AgentRequestError(STATUS[body.code] ?? 500, body.code ?? 'internal', body.error);

export class AgentExecConnection {
  /** Resolves with the exit code; rejects when the agent connection is lost first. */
  readonly exited: Promise<number>;
  private sink: AgentExecOutput | undefined;
  private readonly backlog: [OutputStream, Buffer | null][] = [];
  private resolveExit!: (code: number) => void;
  private rejectExit!: (err: Error) => void;
  private settled = false;

  constructor(
    private readonly socket: Socket,
    private readonly decoder: AgentExecFrameDecoder,
    /** Host pid of the process the agent spawned. */
    readonly pid: number,
  ) {
    this.exited = new Promise<number>((resolve, reject) => {
      this.resolveExit = resolve;
      this.rejectExit = reject;
    });
    this.exited.catch(() => undefined);
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
  attach(sink: AgentExecOutput): void {
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

  /** false: the agent connection is backed up; wait for `onDrain`. */
  writeStdin(chunk: Buffer): boolean {
    if (this.socket.destroyed) return true;
    return this.socket.write(encodeAgentExecFrame(AgentExecFrameKind.Data, AgentExecStream.Stdin, chunk));
  }

  endStdin(): void {
    if (!this.socket.destroyed) this.socket.write(encodeAgentExecFrame(AgentExecFrameKind.Eof, AgentExecStream.Stdin));
  }

  control(c: AgentExecControl): void {
    if (!this.socket.destroyed) this.socket.write(encodeAgentExecJson(AgentExecFrameKind.Control, c));
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

  /** Drops the connection; the agent kills the command if it still runs. */
  close(): void {
    this.socket.destroy();
  }

  private frame(f: AgentExecFrame): void {
    switch (f.kind) {
      case AgentExecFrameKind.Data:
      case AgentExecFrameKind.Eof: {
        if (f.stream !== AgentExecStream.Stdout && f.stream !== AgentExecStream.Stderr) return;
        const chunk = f.kind === AgentExecFrameKind.Data ? f.payload : null;
        if (!this.sink) this.backlog.push([f.stream, chunk]);
        else if (chunk === null) this.sink.end(f.stream);
        else this.sink.data(f.stream, chunk);
        return;
      }
      case AgentExecFrameKind.Exit:
        this.settled = true;
        this.resolveExit((JSON.parse(f.payload.toString('utf8')) as AgentExecExit).exitCode);
        return;
      case AgentExecFrameKind.Error:
        this.settled = true;
        this.rejectExit(errorOf(JSON.parse(f.payload.toString('utf8')) as AgentErrorBody));
    }
  }

  private lost(message: string): void {
    this.socket.destroy();
    if (this.settled) return;
    this.settled = true;
    this.rejectExit(new AgentRequestError(502, 'internal', message));
  }
}

/**
 * Opens the exec stream and sends the start frame; resolves once the agent runs the command, rejects with
 * AgentRequestError when it refuses (e.g. 409 `conflict` "Instance is not running") or cannot be reached.
 */
export function openAgentExec(socketPath: string, lxcName: string, start: AgentExecStart, timeoutMs = 60_000): Promise<AgentExecConnection> {
  return new Promise<AgentExecConnection>((resolve, reject) => {
    let done = false;
    const finish = (fn: () => void) => {
      if (!done) {
        done = true;
        clearTimeout(timer);
        fn();
      }
    };
    const req = request({
      socketPath,
      agent: false,
      method: 'GET',
      path: agentExecPath(lxcName),
      headers: { Connection: 'Upgrade', Upgrade: AGENT_EXEC_UPGRADE },
    });
    const timer = setTimeout(() => {
      req.destroy();
      finish(() => reject(new AgentRequestError(504, 'timeout', `The host agent did not start the command within ${timeoutMs} ms`)));
    }, timeoutMs);

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
            finish(() => reject(errorOf(JSON.parse(f.payload.toString('utf8')) as AgentErrorBody)));
            return;
          }
          if (f.kind === AgentExecFrameKind.Started) {
            socket.off('data', onData);
            socket.off('close', onClose);
            const started = JSON.parse(f.payload.toString('utf8')) as AgentExecStarted;
            const conn = new AgentExecConnection(socket, decoder, started.pid);
            conn.deliver([...pending, ...frames.slice(i + 1)]);
            finish(() => resolve(conn));
            return;
          }
          pending.push(f);
        }
      };
      const onClose = () => finish(() => reject(new AgentRequestError(502, 'internal', 'The host agent closed the exec stream before starting the command')));
      socket.on('data', onData);
      socket.on('close', onClose);
      socket.on('error', () => socket.destroy());
      socket.write(encodeAgentExecJson(AgentExecFrameKind.Start, start));
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
        finish(() => reject(new AgentRequestError(status, body.code ?? 'internal', body.error ?? `Agent answered ${status} for the exec stream`)));
      });
    });
    req.on('error', (err: NodeJS.ErrnoException) => {
      finish(() => {
        if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED') {
          reject(new AgentRequestError(503, 'unavailable', `The host agent is not reachable on ${socketPath}: ${err.code}`));
        } else reject(new AgentRequestError(502, 'internal', `Agent request failed: ${err.message}`));
      });
    });
    req.end();
  });
}
