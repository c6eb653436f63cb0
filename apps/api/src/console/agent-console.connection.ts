// The API's end of the agent's console stream (protocol: libs/api-types/src/agent/agent-console.ts, framing of the
// exec stream): one upgraded connection per attached console. AgentClient.consoleStream opens it; the console
// websockets drive it.
import type { Socket } from 'node:net';
import {
  AGENT_CONSOLE_UPGRADE,
  type AgentConsoleControl,
  type AgentConsoleExit,
  type AgentConsoleStart,
  type AgentConsoleStarted,
  type AgentErrorBody,
  type AgentExecFrame,
  AgentExecFrameDecoder,
  AgentExecFrameKind,
  AgentExecStream,
  agentConsolePath,
  encodeAgentExecFrame,
  encodeAgentExecJson,
} from '@lxdts/api-types';
import { AgentRequestError } from '../agent/agent.client.js';
import { agentErrorOf, openAgentStream } from '../agent/agent-stream.js';

/** Where the console output goes; `end` comes once, before `ended` resolves. */
export interface AgentConsoleOutput {
  data(chunk: Buffer): void;
  end(): void;
}


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
        this.rejectEnd(agentErrorOf(JSON.parse(f.payload.toString('utf8')) as AgentErrorBody));
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
 * Opens the console stream and sends the start frame; resolves once the agent reports it started, rejects with
 * AgentRequestError when it refuses or cannot be reached.
 */
export function openAgentConsole(socketPath: string, lxcName: string, start: AgentConsoleStart, timeoutMs = 60_000): Promise<AgentConsoleConnection> {
  return openAgentStream({
    socketPath,
    path: agentConsolePath(lxcName),
    upgrade: AGENT_CONSOLE_UPGRADE,
    start,
    timeoutMs,
    name: 'console',
    action: 'attach to the console',
    connect: (socket, decoder, started, rest) => {
      const conn = new AgentConsoleConnection(socket, decoder, (JSON.parse(started.toString('utf8')) as AgentConsoleStarted).pid);
      conn.deliver(rest);
      return conn;
    },
  });
}
