// Test helper (used by the console tests only): the API's end of the console stream, collecting what the agent sends.
import { request } from 'node:http';
import type { Socket } from 'node:net';
import {
  AGENT_CONSOLE_UPGRADE,
  type AgentConsoleExit,
  type AgentConsoleStart,
  type AgentErrorBody,
  AgentExecFrameDecoder,
  AgentExecFrameKind,
  agentConsolePath,
  encodeAgentExecFrame,
  encodeAgentExecJson,
} from '@lxdts/api-types';

export interface ConsoleTranscript {
  started: { pid: number } | null;
  output: string;
  /** Frame kinds in arrival order, e.g. ['started', 'data1', 'eof1', 'exit']. */
  order: string[];
  exit: AgentConsoleExit | null;
  error: AgentErrorBody | null;
}

export class ConsoleTestClient {
  readonly transcript: ConsoleTranscript = { started: null, output: '', order: [], exit: null, error: null };
  /** Resolves when the agent closes the connection. */
  readonly done: Promise<ConsoleTranscript>;
  private readonly waiters: { test: () => boolean; resolve: () => void }[] = [];

  private constructor(private readonly socket: Socket) {
    const decoder = new AgentExecFrameDecoder();
    const names: Record<number, string> = { 2: 'data', 3: 'eof', 5: 'started', 6: 'exit', 7: 'error' };
    socket.on('data', (chunk: Buffer) => {
      for (const f of decoder.push(chunk)) {
        const t = this.transcript;
        const kind = names[f.kind] ?? String(f.kind);
        t.order.push(`${kind}${f.kind === AgentExecFrameKind.Data || f.kind === AgentExecFrameKind.Eof ? f.stream : ''}`);
        if (f.kind === AgentExecFrameKind.Started) t.started = JSON.parse(f.payload.toString()) as { pid: number };
        if (f.kind === AgentExecFrameKind.Data && f.stream === 1) t.output += f.payload.toString('latin1');
        if (f.kind === AgentExecFrameKind.Exit) t.exit = JSON.parse(f.payload.toString()) as AgentConsoleExit;
        if (f.kind === AgentExecFrameKind.Error) t.error = JSON.parse(f.payload.toString()) as AgentErrorBody;
      }
      this.check();
    });
    this.done = new Promise((resolve) => socket.on('close', () => resolve(this.transcript)));
  }

  static open(socketPath: string, lxcName: string, start: AgentConsoleStart): Promise<ConsoleTestClient> {
    return new Promise((resolve, reject) => {
      const req = request({ socketPath, path: agentConsolePath(lxcName), headers: { Connection: 'Upgrade', Upgrade: AGENT_CONSOLE_UPGRADE } });
      req.on('upgrade', (_res, socket: Socket, head: Buffer) => {
        const client = new ConsoleTestClient(socket);
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
  finished(timeoutMs = 10_000): Promise<ConsoleTranscript> {
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`console did not finish: ${JSON.stringify(this.transcript)}`)), timeoutMs);
    });
    return Promise.race([this.done, expired]).finally(() => clearTimeout(timer));
  }

  input(data: string): void {
    this.socket.write(encodeAgentExecFrame(AgentExecFrameKind.Data, 0, Buffer.from(data, 'latin1')));
  }

  /** Detach. */
  eof(): void {
    this.socket.write(encodeAgentExecFrame(AgentExecFrameKind.Eof, 0));
  }

  resize(width: number, height: number): void {
    this.socket.write(encodeAgentExecJson(AgentExecFrameKind.Control, { type: 'resize', width, height }));
  }

  close(): void {
    this.socket.destroy();
  }

  /** Resolves once `test` holds on the transcript (or rejects with what arrived after the timeout). */
  waitFor(test: (t: ConsoleTranscript) => boolean, what: string, timeoutMs = 5_000): Promise<void> {
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

  waitForOutput(pattern: RegExp, timeoutMs = 5_000): Promise<void> {
    return this.waitFor((t) => pattern.test(t.output), `output ${pattern}`, timeoutMs);
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
