// The API's end of the agent's console stream (protocol: libs/api-types/src/agent/agent-console.ts, framing of the
// exec stream): one upgraded connection per attached console. AgentClient.consoleStream opens it; the console
// websockets drive it.
import { request } from 'node:http';
import type { Socket } from 'node:net';
import {
  AGENT_CONSOLE_UPGRADE,
  type AgentConsoleControl,
  type AgentConsoleExit,
  type AgentConsoleStart,
  type AgentConsoleStarted,
  type AgentErrorBody,
  type AgentErrorCode,
  type AgentExecFrame,
  AgentExecFrameDecoder,
  AgentExecFrameKind,
  AgentExecStream,
  agentConsolePath,
  encodeAgentExecFrame,
  encodeAgentExecJson,
} from '@lxdts/api-types';
import { AgentRequestError } from '../agent/agent.client.js';

/** Where the console output goes; `end` comes once, before `ended` resolves. */
export interface AgentConsoleOutput {
  data(chunk: Buffer): void;
  end(): void;
}

const STATUS: Record<AgentErrorCode, number> = { bad_request: 400, not_found: 404, conflict: 409, timeout: 504, start_failed: 500, internal: 500 };

const errorOf = (body: AgentErrorBody): AgentRequestError => new AgentRequestError(STATUS[body.code] ?? 500, body.code ?? 'internal', body.error);

export class AgentConsoleConnection {
  /** Resolves when the console session is over (detached, or the console went away); rejects when the agent is lost. */
  readonly ended: Promise<AgentConsoleExit>;
  private sink: AgentConsoleOutput | undefined;
  private readonly backlog: (Buffer | null)[] = [];
  private resolveEnd!: (exit: AgentConsoleExit) => void;
  private rejectEnd!: (err: Error) => void;
  private settled = false;
  private detached = false;

  constructor(
    private readonly socket: Socket,
    private readonly decoder: AgentExecFrameDecoder,
    /** Host pid of the process the agent spawned. */
    readonly pid: number,
  ) {
    this.ended = new Promise<AgentConsoleExit>((resolve, reject) => {
      this.resolveEnd = resolve;
      this.rejectEnd = reject;
    });
    this.ended.catch(() => undefined);
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
  attach(sink: AgentConsoleOutput): void {
    this.sink = sink;
    for (const chunk of this.backlog.splice(0)) {
      if (chunk === null) sink.end();
      else sink.data(chunk);
    }
  }

  /** Frames that came in the same read as `started`. */
  deliver(frames: AgentExecFrame[]): void {
    for (const f of frames) this.frame(f);
  }

  /** Bytes typed on the console; false: the agent connection is backed up, wait for `onDrain`. */
  write(chunk: Buffer): boolean {
    if (this.socket.destroyed || this.detached) return true;
    return this.socket.write(encodeAgentExecFrame(AgentExecFrameKind.Data, AgentExecStream.Stdin, chunk));
  }

  resize(width: number, height: number): void {
    if (this.socket.destroyed || this.detached) return;
    this.socket.write(encodeAgentExecJson(AgentExecFrameKind.Control, { type: 'resize', width, height } satisfies AgentConsoleControl));
  }

  /** Leaves the console (the container keeps running); `ended` resolves once the agent has detached. */
  detach(): void {
    if (this.socket.destroyed || this.detached) return;
    this.detached = true;
    this.socket.write(encodeAgentExecFrame(AgentExecFrameKind.Eof, AgentExecStream.Stdin));
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

  /** Drops the connection; the agent detaches. */
  close(): void {
    this.socket.destroy();
  }

  private frame(f: AgentExecFrame): void {
    switch (f.kind) {
      case AgentExecFrameKind.Data:
      case AgentExecFrameKind.Eof: {
        if (f.stream !== AgentExecStream.Stdout) return;
        const chunk = f.kind === AgentExecFrameKind.Data ? f.payload : null;
        if (!this.sink) this.backlog.push(chunk);
        else if (chunk === null) this.sink.end();
        else this.sink.data(chunk);
        return;
      }
      case AgentExecFrameKind.Exit:
        this.settled = true;
        this.resolveEnd(JSON.parse(f.payload.toString('utf8')) as AgentConsoleExit);
        return;
      case AgentExecFrameKind.Error:
        this.settled = true;
        this.rejectEnd(errorOf(JSON.parse(f.payload.toString('utf8')) as AgentErrorBody));
    }
  }

  private lost(message: string): void {
    this.socket.destroy();
    if (this.settled) return;
    this.settled = true;
    // After a detach the agent may close before its exit frame is read: that is still a detach.
    if (this.detached) this.resolveEnd({ detached: true, exitCode: 0 });
    else this.rejectEnd(new AgentRequestError(502, 'internal', message));
  }
}

/**
 * Opens the console stream and sends the start frame; resolves once the agent is attached to the console, rejects
 * with AgentRequestError when it refuses (409 `conflict`: not running, frozen, console in use) or cannot be reached.
 */
export function openAgentConsole(socketPath: string, lxcName: string, start: AgentConsoleStart, timeoutMs = 60_000): Promise<AgentConsoleConnection> {
  return new Promise<AgentConsoleConnection>((resolve, reject) => {
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
      path: agentConsolePath(lxcName),
      headers: { Connection: 'Upgrade', Upgrade: AGENT_CONSOLE_UPGRADE },
    });
    const timer = setTimeout(() => {
      req.destroy();
      finish(() => reject(new AgentRequestError(504, 'timeout', `The host agent did not attach to the console within ${timeoutMs} ms`)));
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
            const started = JSON.parse(f.payload.toString('utf8')) as AgentConsoleStarted;
            const conn = new AgentConsoleConnection(socket, decoder, started.pid);
            conn.deliver([...pending, ...frames.slice(i + 1)]);
            finish(() => resolve(conn));
            return;
          }
          pending.push(f);
        }
      };
      const onClose = () => finish(() => reject(new AgentRequestError(502, 'internal', 'The host agent closed the console stream before attaching')));
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
        finish(() => reject(new AgentRequestError(status, body.code ?? 'internal', body.error ?? `Agent answered ${status} for the console stream`)));
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
