// The API's end of the agent's exec stream (protocol: libs/api-types/src/agent/agent-exec.ts): one upgraded
// connection per command. AgentClient.execStream opens it; the exec websockets drive it.
import type { Socket } from 'node:net';
import {
  AGENT_EXEC_UPGRADE,
  type AgentErrorBody,
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
import { agentErrorOf, openAgentStream } from '../agent/agent-stream.js';

export type OutputStream = typeof AgentExecStream.Stdout | typeof AgentExecStream.Stderr;

/** Where the command's output goes; `end` comes once per stream, before `exited` resolves. */
export interface AgentExecOutput {
  data(stream: OutputStream, chunk: Buffer): void;
  end(stream: OutputStream): void;
}


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
        this.rejectExit(agentErrorOf(JSON.parse(f.payload.toString('utf8')) as AgentErrorBody));
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
 * Opens the exec stream and sends the start frame; resolves once the agent reports it started, rejects with
 * AgentRequestError when it refuses or cannot be reached.
 */
export function openAgentExec(socketPath: string, lxcName: string, start: AgentExecStart, timeoutMs = 60_000): Promise<AgentExecConnection> {
  return openAgentStream({
    socketPath,
    path: agentExecPath(lxcName),
    upgrade: AGENT_EXEC_UPGRADE,
    start,
    timeoutMs,
    name: 'exec',
    action: 'start the command',
    connect: (socket, decoder, started, rest) => {
      const conn = new AgentExecConnection(socket, decoder, (JSON.parse(started.toString('utf8')) as AgentExecStarted).pid);
      conn.deliver(rest);
      return conn;
    },
  });
}
