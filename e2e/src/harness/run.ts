// Run a program to completion: stdout, stderr, exit code. Never throws on a non-zero exit; kills it on timeout.
import { spawn } from 'node:child_process';
import { trackPid, untrackPid } from './cleanup.js';

export interface RunResult {
  /** Exit code; -1 when killed by a signal or the timeout, or when the program could not start. */
  code: number;
  stdout: string;
  stderr: string;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  /** The command line, for failure messages. */
  command: string;
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Text fed on stdin; without it stdin is /dev/null (as in CI), so prompts see EOF. */
  input?: string | Buffer;
  /** Default 60 s. */
  timeoutMs?: number;
}

export function run(file: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const command = [file, ...args].map((a) => (/^[\w./:=@,+-]+$/.test(a) ? a : JSON.stringify(a))).join(' ');
  return new Promise((resolve) => {
    const child = spawn(file, args, {
      env: opts.env ?? process.env,
      cwd: opts.cwd,
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    trackPid(child.pid);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    let spawnError: string | undefined;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, opts.timeoutMs ?? 60_000);
    child.stdout!.on('data', (c: Buffer) => out.push(c));
    child.stderr!.on('data', (c: Buffer) => err.push(c));
    if (opts.input !== undefined) {
      child.stdin!.on('error', () => undefined); // the program may exit without reading everything
      child.stdin!.end(opts.input);
    }
    child.on('error', (e) => {
      spawnError = e.message;
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      untrackPid(child.pid);
      resolve({
        code: code ?? -1,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8') + (spawnError ? `\n[spawn error] ${spawnError}` : ''),
        signal,
        timedOut,
        command,
      });
    });
  });
}

/** A one-line-per-stream description of a result, for assertion messages. */
export function describeRun(r: RunResult): string {
  return `${r.command} → exit ${r.code}${r.timedOut ? ' (timed out)' : ''}\n--- stdout:\n${r.stdout}\n--- stderr:\n${r.stderr}`;
}
