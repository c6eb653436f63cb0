// The one way the agent runs an external command: execa with a timeout, captured output and debug logging.
import { constants } from 'node:os';
import type { Readable, Writable } from 'node:stream';
import { execa } from 'execa';
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

interface ExecaOutcome {
  exitCode?: number;
  signal?: string;
  timedOut?: boolean;
  failed?: boolean;
  originalMessage?: string;
  stdout?: unknown;
  stderr?: unknown;
  durationMs?: number;
}

function exitCodeOf(r: ExecaOutcome): number {
  if (typeof r.exitCode === 'number') return r.exitCode;
  if (r.signal) {
    const n = (constants.signals as Record<string, number>)[r.signal];
    if (typeof n === 'number') return 128 + n;
  }
  return -1;
}

const quote = (a: string) => (/^[\w@%+=:,./-]+$/.test(a) ? a : JSON.stringify(a));

export function createProcessRunner(log: AgentLogger): ProcessRunner {
  const tryRun = async (file: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> => {
    const command = [file, ...args].map(quote).join(' ');
    const timeout = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const r = (await execa(file, args, {
      reject: false,
      timeout: timeout > 0 ? timeout : undefined,
      killSignal: 'SIGKILL',
      input: options.input,
      stdin: options.input === undefined ? 'ignore' : 'pipe',
      cwd: options.cwd ?? '/',
      env: options.env,
      stripFinalNewline: false,
      maxBuffer: 64 * 1024 * 1024,
    })) as ExecaOutcome;
    const result: RunResult = {
      command,
      exitCode: exitCodeOf(r),
      stdout: typeof r.stdout === 'string' ? r.stdout : '',
      stderr: typeof r.stderr === 'string' ? r.stderr : r.failed && r.exitCode === undefined ? (r.originalMessage ?? '') : '',
      timedOut: r.timedOut === true,
      durationMs: r.durationMs ?? 0,
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
      const started = performance.now();
      const timeout = options.timeoutMs ?? 0;
      const child = execa(file, args, {
        reject: false,
        buffer: false,
        timeout: timeout > 0 ? timeout : undefined,
        killSignal: 'SIGKILL',
        stdin: 'pipe',
        stdout: 'pipe',
        stderr: 'pipe',
        cwd: options.cwd ?? '/',
        env: options.env,
      });
      const exited = Promise.resolve(child).then(
        (r) => exitCodeOf(r as ExecaOutcome),
        () => -1,
      );
      void exited.then((code) => log.debug(`spawn ${command}: exit ${code} after ${(performance.now() - started).toFixed(1)} ms`));
      return {
        pid: child.pid,
        stdin: child.stdin,
        stdout: child.stdout,
        stderr: child.stderr,
        exited,
        kill: (signal: NodeJS.Signals = 'SIGKILL') => void child.kill(signal),
      };
    },
  };
}
