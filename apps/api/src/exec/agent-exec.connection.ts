// The API's end of the agent's exec stream (protocol: libs/api-types/src/agent/agent-exec.ts): one upgraded
// connection per command. AgentClient.execStream opens it; the exec websockets drive it.
import type { Socket } from 'node:net';
import {
  AGENT_EXEC_UPGRADE,
  type AgentExecControl,
  type AgentExecExit,
  type AgentExecFrame,
  type AgentExecFrameDecoder,
  AgentExecFrameKind,
  type AgentExecStart,
  type AgentExecStarted,
  AgentExecStream,
  agentExecPath,
  encodeAgentExecFrame,
  encodeAgentExecJson,
} from '@lxdts/api-types';
import { AgentStreamConnection, type AgentStreamOutput, openAgentStream } from '../agent/agent-stream.js';

export type OutputStream = typeof AgentExecStream.Stdout | typeof AgentExecStream.Stderr;

/** Where the command's output goes; `end` comes once per stream, before `exited` resolves. */
export type AgentExecOutput = AgentStreamOutput<OutputStream>;

export class AgentExecConnection {
  /** Resolves with the exit code; rejects when the agent connection is lost first. */
  readonly exited: Promise<number>;
  /** The connection itself: output flow control (pause, resume, onDrain). */
  readonly stream: AgentStreamConnection<number, OutputStream>;

  constructor(
    socket: Socket,
    decoder: AgentExecFrameDecoder,
    /** Host pid of the process the agent spawned. */
    readonly pid: number,
    /** Frames that came in the same read as `started`. */
    pending: AgentExecFrame[] = [],
  ) {
    this.stream = new AgentStreamConnection(socket, decoder, {
      outputs: [AgentExecStream.Stdout, AgentExecStream.Stderr],
      result: (exit) => (exit as AgentExecExit).exitCode,
    });
    this.stream.deliver(pending);
    this.exited = this.stream.result;
  }

  /** Output starts flowing to `sink` (what arrived before is delivered first). */
  attach(sink: AgentExecOutput): void {
    this.stream.attach(sink);
  }

  /** false: the agent connection is backed up; wait for `onDrain`. */
  writeStdin(chunk: Buffer): boolean {
    return this.stream.send(encodeAgentExecFrame(AgentExecFrameKind.Data, AgentExecStream.Stdin, chunk));
  }

  endStdin(): void {
    this.stream.send(encodeAgentExecFrame(AgentExecFrameKind.Eof, AgentExecStream.Stdin));
  }

  control(c: AgentExecControl): void {
    this.stream.send(encodeAgentExecJson(AgentExecFrameKind.Control, c));
  }

  /** Drops the connection; the agent kills the command if it still runs. */
  close(): void {
    this.stream.close();
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
    connect: (socket, decoder, started, rest) => new AgentExecConnection(socket, decoder, (JSON.parse(started.toString('utf8')) as AgentExecStarted).pid, rest),
  });
}
