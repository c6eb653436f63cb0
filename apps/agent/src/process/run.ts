// The one way the agent runs an external command: node's child_process with a timeout, captured output and debug
// logging. (No execa: on the exec and lifecycle paths its per-spawn overhead, a few ms, was measurable.)
import { type ChildProcess, spawn as spawnChild } from 'node:child_process';
import { constants } from 'node:os';
import type { Readable, Writable } from 'node:stream';
import type { AgentLogger } from '../log.js';

export interface RunOptions {
  /** Kill the command (SIGKILL) after this long. Default 60 s; 0 = no limit. */
  timeoutMs?: number;
  /** Written to stdin, then stdin is closed. */
  input?: string;
  cwd?: string;
  /** Extra environment on top of the agent's own. */
  env?: Record<string, string>;
}

export interface RunResult {
  /** `file arg1 arg2 ...`, for messages. */
  command: string;
  /** The exit code; 128+N when killed by signal N; -1 when the command could not be run at all. */
  exitCode: number;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  durationMs: number;
}

/** A non-zero exit (or a command that could not run) where the caller asked for success. */
export class CommandFailedError extends Error {
  constructor(readonly result: RunResult) {
    const why = result.timedOut ? `timed out after ${Math.round(result.durationMs)} ms` : `exit status ${result.exitCode}`;
    const detail = result.stderr.trim() || result.stdout.trim();
    super(`Failed to run: ${result.command}: ${why}${detail ? `: ${detail}` : ''}`);
    this.name = 'CommandFailedError';
  }
}

/** A command whose output is streamed (exec); the same logging and exit-code rules as `run`. */
export interface SpawnedProcess {
  readonly pid: number | undefined;
  readonly stdin: Writable;
  readonly stdout: Readable;
  readonly stderr: Readable;
  /** Resolves with the exit code (128+N for signal N, -1 if it could not be spawned). Never rejects. */
  readonly exited: Promise<number>;
  kill(signal?: NodeJS.Signals): void;
}

export interface ProcessRunner {
  /** Runs to completion; throws CommandFailedError unless the exit code is 0. */
  run(file: string, args: readonly string[], options?: RunOptions): Promise<RunResult>;
  /** Runs to completion and returns the result whatever the exit code. */
  tryRun(file: string, args: readonly string[], options?: RunOptions): Promise<RunResult>;
  /** Starts a command with piped stdio; the caller consumes the streams. `timeoutMs` 0 = no limit (default). */
  spawn(file: string, args: readonly string[], options?: Omit<RunOptions, 'input'>): SpawnedProcess;
}

export const DEFAULT_TIMEOUT_MS = 60_000;
/** Captured output beyond this is dropped (the command keeps running). */
const MAX_CAPTURE = 64 * 1024 * 1024;

const quote = (a: string) => (/^[\w@%+=:,./-]+$/.test(a) ? a : JSON.stringify(a));

function exitCodeOf(code: number | null, signal: NodeJS.Signals | null): number {
  if (typeof code === 'number') return code;
  const n = signal ? (constants.signals as Record<string, number>)[signal] : undefined;
  return typeof n === 'number' ? 128 + n : -1;
}

interface Started {
  child: ChildProcess;
  /** Exit code once the process is gone and its output streams are closed; -1 with `spawnError` if it never ran. */
  closed: Promise<{ exitCode: number; spawnError?: Error; timedOut: boolean }>;
}

/** Spawns with piped stdio, the agent's environment plus `env`, and an optional SIGKILL deadline. */
function start(file: string, args: readonly string[], options: RunOptions, stdin: 'pipe' | 'ignore'): Started {
  const child = spawnChild(file, args, {
    cwd: options.cwd ?? '/',
    env: options.env ? { ...process.env, ...options.env } : process.env,
    stdio: [stdin, 'pipe', 'pipe'],
  });
  let timedOut = false;
  const timeout = options.timeoutMs ?? 0;
  const timer =
    timeout > 0
      ? setTimeout(() => {
          timedOut = true;
          child.kill('SIGKILL');
        }, timeout)
      : undefined;
  timer?.unref();
  const closed = new Promise<{ exitCode: number; spawnError?: Error; timedOut: boolean }>((resolve) => {
    child.once('error', (spawnError) => {
      // Only a failed spawn has no pid; errors of a running child (kill failures) are not its end.
      if (child.pid !== undefined) return;
      clearTimeout(timer);
      resolve({ exitCode: -1, spawnError, timedOut });
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ exitCode: exitCodeOf(code, signal), timedOut });
    });
  });
  return { child, closed };
}

/** Collects a stream as UTF-8 text, up to MAX_CAPTURE bytes. */
function capture(stream: Readable | null): () => string {
  const chunks: Buffer[] = [];
  let size = 0;
  stream?.on('data', (c: Buffer) => {
    if (size >= MAX_CAPTURE) return;
    chunks.push(c);
    size += c.length;
  });
  return () => Buffer.concat(chunks).toString('utf8');
}

export function createProcessRunner(log: AgentLogger): ProcessRunner {
  const tryRun = async (file: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> => {
    const command = [file, ...args].map(quote).join(' ');
    const began = performance.now();
    const { child, closed } = start(file, args, { ...options, timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS }, options.input === undefined ? 'ignore' : 'pipe');
    const stdout = capture(child.stdout);
    const stderr = capture(child.stderr);
    if (options.input !== undefined && child.stdin) {
      child.stdin.on('error', () => undefined); // The command may exit without reading its input.
      child.stdin.end(options.input);
    }
    const end = await closed;
    const result: RunResult = {
      command,
      exitCode: end.exitCode,
      stdout: stdout(),
      stderr: end.spawnError ? end.spawnError.message : stderr(),
      timedOut: end.timedOut,
      durationMs: performance.now() - began,
    };
    log.debug(`run ${command}: exit ${result.exitCode}${result.timedOut ? ' (timeout)' : ''} in ${result.durationMs.toFixed(1)} ms`);
    if (result.exitCode !== 0 && result.stderr) log.debug(`run ${file} stderr: ${result.stderr.trim()}`);
    return result;
  };

  return {
    tryRun,
    async run(file, args, options) {
      const result = await tryRun(file, args, options);
      if (result.exitCode !== 0) throw new CommandFailedError(result);
      return result;
    },
    spawn(file, args, options = {}) {
      const command = [file, ...args].map(quote).join(' ');
      const began = performance.now();
      const { child, closed } = start(file, args, options, 'pipe');
      const exited = closed.then((end) => end.exitCode);
      void exited.then((code) => log.debug(`spawn ${command}: exit ${code} after ${(performance.now() - began).toFixed(1)} ms`));
      return {
        pid: child.pid,
        stdin: child.stdin as Writable,
        stdout: child.stdout as Readable,
        stderr: child.stderr as Readable,
        exited,
        kill: (signal: NodeJS.Signals = 'SIGKILL') => void child.kill(signal),
      };
    },
  };
}
