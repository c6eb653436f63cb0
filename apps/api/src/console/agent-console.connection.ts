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
  type AgentExecFrame,
  type AgentExecFrameDecoder,
  AgentExecFrameKind,
  AgentExecStream,
  agentConsolePath,
  encodeAgentExecFrame,
  encodeAgentExecJson,
} from '@lxdts/api-types';
import { AgentStreamConnection, openAgentStream } from '../agent/agent-stream.js';

/** Where the console output goes; `end` comes once, before `ended` resolves. */
export interface AgentConsoleOutput {
  data(chunk: Buffer): void;
  end(): void;
}

export class AgentConsoleConnection {
  /** Resolves when the console session is over (detached, or the console went away); rejects when the agent is lost. */
  readonly ended: Promise<AgentConsoleExit>;
  /** The connection itself: output flow control (pause, resume, onDrain). */
  readonly stream: AgentStreamConnection<AgentConsoleExit, typeof AgentExecStream.Stdout>;
  private detached = false;

  constructor(
    socket: Socket,
    decoder: AgentExecFrameDecoder,
    /** Host pid of the process the agent spawned (the pty helper around lxc-console). */
    readonly pid: number,
    /** Frames that came in the same read as `started`. */
    pending: AgentExecFrame[] = [],
  ) {
    this.stream = new AgentStreamConnection(socket, decoder, {
      outputs: [AgentExecStream.Stdout],
      result: (exit) => exit as AgentConsoleExit,
      // After a detach the agent may close before its exit frame is read: that is still a detach.
      lostResult: () => (this.detached ? { detached: true, exitCode: 0 } : undefined),
    });
    this.stream.deliver(pending);
    this.ended = this.stream.result;
  }

  /** Output starts flowing to `sink` (what arrived before is delivered first). */
  attach(sink: AgentConsoleOutput): void {
    this.stream.attach({ data: (_stream, chunk) => sink.data(chunk), end: () => sink.end() });
  }

  /** Bytes typed on the console; false: the agent connection is backed up, wait for `onDrain`. */
  write(chunk: Buffer): boolean {
    if (this.detached) return true;
    return this.stream.send(encodeAgentExecFrame(AgentExecFrameKind.Data, AgentExecStream.Stdin, chunk));
  }

  resize(width: number, height: number): void {
    if (this.detached) return;
    this.stream.send(encodeAgentExecJson(AgentExecFrameKind.Control, { type: 'resize', width, height } satisfies AgentConsoleControl));
  }

  /** Leaves the console (the container keeps running); `ended` resolves once the agent has detached. */
  detach(): void {
    if (this.stream.destroyed || this.detached) return;
    this.detached = true;
    this.stream.send(encodeAgentExecFrame(AgentExecFrameKind.Eof, AgentExecStream.Stdin));
  }

  /** Drops the connection; the agent detaches. */
  close(): void {
    this.stream.close();
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
    connect: (socket, decoder, started, rest) =>
      new AgentConsoleConnection(socket, decoder, (JSON.parse(started.toString('utf8')) as AgentConsoleStarted).pid, rest),
  });
}
