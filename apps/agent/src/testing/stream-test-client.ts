// Test helper: the API's end of the agent's exec or console stream (one framing, agent-exec.ts), collecting what the
// agent sends. Used by the exec and console tests only.
import { request } from 'node:http';
import type { Socket } from 'node:net';
import {
  AGENT_CONSOLE_UPGRADE,
  AGENT_EXEC_UPGRADE,
  type AgentConsoleExit,
  type AgentConsoleStart,
  type AgentErrorBody,
  type AgentExecControl,
  type AgentExecExit,
  AgentExecFrameDecoder,
  AgentExecFrameKind,
  type AgentExecStart,
  agentConsolePath,
  agentExecPath,
  encodeAgentExecFrame,
  encodeAgentExecJson,
} from '@lxdts/api-types';

export interface StreamTranscript<Exit extends { exitCode: number }> {
  started: { pid: number } | null;
  /** Stream 1 (the console's output), latin1. */
  stdout: string;
  stderr: string;
  /** Frame kinds in arrival order, e.g. ['started', 'data1', 'eof1', 'eof2', 'exit']. */
  order: string[];
  exit: Exit | null;
  /** `exit.exitCode` once the exit frame came. */
  exitCode: number | null;
  error: AgentErrorBody | null;
}

const FRAME_NAMES: Record<number, string> = { 2: 'data', 3: 'eof', 5: 'started', 6: 'exit', 7: 'error' };

export class StreamTestClient<Exit extends { exitCode: number }> {
  readonly transcript: StreamTranscript<Exit> = { started: null, stdout: '', stderr: '', order: [], exit: null, exitCode: null, error: null };
  /** Resolves when the agent closes the connection. */
  readonly done: Promise<StreamTranscript<Exit>>;
  private readonly waiters: { test: () => boolean; resolve: () => void }[] = [];

  private constructor(
    private readonly socket: Socket,
    private readonly what: string,
  ) {
    const decoder = new AgentExecFrameDecoder();
    socket.on('data', (chunk: Buffer) => {
      for (const f of decoder.push(chunk)) {
        const t = this.transcript;
        const streamed = f.kind === AgentExecFrameKind.Data || f.kind === AgentExecFrameKind.Eof;
        t.order.push(`${FRAME_NAMES[f.kind] ?? String(f.kind)}${streamed ? f.stream : ''}`);
        if (f.kind === AgentExecFrameKind.Started) t.started = JSON.parse(f.payload.toString()) as { pid: number };
        if (f.kind === AgentExecFrameKind.Data && f.stream === 1) t.stdout += f.payload.toString('latin1');
        if (f.kind === AgentExecFrameKind.Data && f.stream === 2) t.stderr += f.payload.toString('latin1');
        if (f.kind === AgentExecFrameKind.Exit) {
          t.exit = JSON.parse(f.payload.toString()) as Exit;
          t.exitCode = t.exit.exitCode;
        }
        if (f.kind === AgentExecFrameKind.Error) t.error = JSON.parse(f.payload.toString()) as AgentErrorBody;
      }
      this.check();
    });
    this.done = new Promise((resolve) => socket.on('close', () => resolve(this.transcript)));
  }

  /** An exec stream with its start frame sent. */
  static exec(socketPath: string, lxcName: string, start: AgentExecStart): Promise<StreamTestClient<AgentExecExit>> {
    return StreamTestClient.open<AgentExecExit>(socketPath, agentExecPath(lxcName), AGENT_EXEC_UPGRADE, start, 'exec');
  }

  /** A console stream with its start frame sent. */
  static console(socketPath: string, lxcName: string, start: AgentConsoleStart): Promise<StreamTestClient<AgentConsoleExit>> {
    return StreamTestClient.open<AgentConsoleExit>(socketPath, agentConsolePath(lxcName), AGENT_CONSOLE_UPGRADE, start, 'console');
  }

  private static open<E extends { exitCode: number }>(socketPath: string, path: string, upgrade: string, start: unknown, what: string): Promise<StreamTestClient<E>> {
    return new Promise((resolve, reject) => {
      const req = request({ socketPath, path, headers: { Connection: 'Upgrade', Upgrade: upgrade } });
      req.on('upgrade', (_res, socket: Socket, head: Buffer) => {
        const client = new StreamTestClient<E>(socket, what);
        if (head.length > 0) socket.unshift(head);
        socket.write(encodeAgentExecJson(AgentExecFrameKind.Start, start));
        resolve(client);
      });
      req.on('response', (res) => reject(new Error(`agent answered ${res.statusCode}`)));
      req.on('error', reject);
      req.end();
    });
  }

  /** `done`, or a rejection carrying what arrived when the agent does not close within the timeout. */
  finished(timeoutMs = 10_000): Promise<StreamTranscript<Exit>> {
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${this.what} did not finish: ${JSON.stringify(this.transcript)}`)), timeoutMs);
    });
    return Promise.race([this.done, expired]).finally(() => clearTimeout(timer));
  }

  /** Data on stream 0 (the command's stdin, or bytes typed on the console). */
  stdin(data: string | Buffer): void {
    this.socket.write(encodeAgentExecFrame(AgentExecFrameKind.Data, 0, typeof data === 'string' ? Buffer.from(data) : data));
  }

  /** Eof on stream 0 (end of input; the console detaches). */
  eof(): void {
    this.socket.write(encodeAgentExecFrame(AgentExecFrameKind.Eof, 0));
  }

  control(c: AgentExecControl): void {
    this.socket.write(encodeAgentExecJson(AgentExecFrameKind.Control, c));
  }

  resize(width: number, height: number): void {
    this.control({ type: 'resize', width, height });
  }

  close(): void {
    this.socket.destroy();
  }

  /** Resolves once `test` holds on the transcript (or rejects with what arrived after the timeout). */
  waitFor(test: (t: StreamTranscript<Exit>) => boolean, what: string, timeoutMs = 5_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`never saw ${what}: ${JSON.stringify(this.transcript)}`)), timeoutMs);
      this.waiters.push({
        test: () => test(this.transcript),
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
      this.check();
    });
  }

  /** Resolves once stdout matches (or the timeout expires, then rejects with what arrived). */
  waitForStdout(pattern: RegExp, timeoutMs = 5_000): Promise<void> {
    return this.waitFor((t) => pattern.test(t.stdout), `stdout ${pattern}`, timeoutMs);
  }

  private check(): void {
    for (const w of [...this.waiters]) {
      if (w.test()) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  }
}
