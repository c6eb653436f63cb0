// Test helper (used by the exec tests only): the API's end of the exec stream, collecting what the agent sends.
import { request } from 'node:http';
import type { Socket } from 'node:net';
import {
  AGENT_EXEC_UPGRADE,
  type AgentErrorBody,
  type AgentExecControl,
  AgentExecFrameDecoder,
  AgentExecFrameKind,
  type AgentExecStart,
  agentExecPath,
  encodeAgentExecFrame,
  encodeAgentExecJson,
} from '@lxdts/api-types';

export interface ExecTranscript {
  started: { pid: number } | null;
  stdout: string;
  stderr: string;
  /** Frame kinds in arrival order, e.g. ['started', 'data1', 'eof1', 'eof2', 'exit']. */
  order: string[];
  exitCode: number | null;
  error: AgentErrorBody | null;
}

export class ExecTestClient {
  readonly transcript: ExecTranscript = { started: null, stdout: '', stderr: '', order: [], exitCode: null, error: null };
  /** Resolves when the agent closes the connection. */
  readonly done: Promise<ExecTranscript>;
  private readonly waiters: { test: () => boolean; resolve: () => void }[] = [];

  private constructor(private readonly socket: Socket) {
    const decoder = new AgentExecFrameDecoder();
    const names: Record<number, string> = { 2: 'data', 3: 'eof', 5: 'started', 6: 'exit', 7: 'error' };
    socket.on('data', (chunk: Buffer) => {
      for (const f of decoder.push(chunk)) {
        const t = this.transcript;
        t.order.push(`${names[f.kind] ?? f.kind}${f.kind === AgentExecFrameKind.Data || f.kind === AgentExecFrameKind.Eof ? f.stream : ''}`);
        if (f.kind === AgentExecFrameKind.Started) t.started = JSON.parse(f.payload.toString()) as { pid: number };
        if (f.kind === AgentExecFrameKind.Data && f.stream === 1) t.stdout += f.payload.toString('latin1');
        if (f.kind === AgentExecFrameKind.Data && f.stream === 2) t.stderr += f.payload.toString('latin1');
        if (f.kind === AgentExecFrameKind.Exit) t.exitCode = (JSON.parse(f.payload.toString()) as { exitCode: number }).exitCode;
        if (f.kind === AgentExecFrameKind.Error) t.error = JSON.parse(f.payload.toString()) as AgentErrorBody;
      }
      this.check();
    });
    this.done = new Promise((resolve) => socket.on('close', () => resolve(this.transcript)));
  }

  static open(socketPath: string, lxcName: string, start: AgentExecStart): Promise<ExecTestClient> {
    return new Promise((resolve, reject) => {
      const req = request({ socketPath, path: agentExecPath(lxcName), headers: { Connection: 'Upgrade', Upgrade: AGENT_EXEC_UPGRADE } });
      req.on('upgrade', (_res, socket: Socket, head: Buffer) => {
        const client = new ExecTestClient(socket);
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
  finished(timeoutMs = 10_000): Promise<ExecTranscript> {
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`exec did not finish: ${JSON.stringify(this.transcript)}`)), timeoutMs);
    });
    return Promise.race([this.done, expired]).finally(() => clearTimeout(timer));
  }

  stdin(data: string): void {
    this.socket.write(encodeAgentExecFrame(AgentExecFrameKind.Data, 0, Buffer.from(data)));
  }

  eof(): void {
    this.socket.write(encodeAgentExecFrame(AgentExecFrameKind.Eof, 0));
  }

  control(c: AgentExecControl): void {
    this.socket.write(encodeAgentExecJson(AgentExecFrameKind.Control, c));
  }

  close(): void {
    this.socket.destroy();
  }

  /** Resolves once stdout matches (or the timeout expires, then rejects with what arrived). */
  waitForStdout(pattern: RegExp, timeoutMs = 5_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`stdout never matched ${pattern}: ${JSON.stringify(this.transcript.stdout)}`)), timeoutMs);
      this.waiters.push({
        test: () => pattern.test(this.transcript.stdout),
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
      this.check();
    });
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
