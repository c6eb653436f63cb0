// The btrfs subvolume operations of the btrfs driver: through the static lxdts-btrfs helper (direct ioctls) when it
// is built, else through btrfs-progs (~4 ms a call). The helper runs as one long-lived `lxdts-btrfs serve` process
// answering a line per request, so a snapshot costs no process start at all; it is started again if it dies.
import { type ChildProcessByStdio, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { ProcessRunner } from '../process/run.js';

/** Where native/build.sh puts the helper (dist/storage/ → native/build/). */
export const BTRFS_HELPER_PATH = fileURLToPath(new URL('../../native/build/lxdts-btrfs', import.meta.url));

export class BtrfsCommands {
  private readonly helper: string | null;

  /** `helper`: the lxdts-btrfs binary, null for btrfs-progs only; default: $LXDTS_BTRFS_HELPER (`off`) or the built one. */
  constructor(
    private readonly runner: ProcessRunner,
    helper?: string | null,
  ) {
    const fromEnv = process.env['LXDTS_BTRFS_HELPER'];
    const chosen = helper !== undefined ? helper : fromEnv === 'off' ? null : fromEnv || BTRFS_HELPER_PATH;
    this.helper = chosen && existsSync(chosen) ? chosen : null;
  }

  async create(path: string): Promise<void> {
    await this.run(['create', path], ['subvolume', 'create', path]);
  }

  async snapshot(source: string, path: string, readonly: boolean): Promise<void> {
    const r = readonly ? ['-r'] : [];
    await this.run(['snapshot', ...r, source, path], ['subvolume', 'snapshot', ...r, source, path]);
  }

  /** Fails (non-zero) when nested subvolumes are left inside. */
  tryDelete(path: string) {
    return this.helper
      ? this.runner.tryRun(this.helper, ['delete', path], { timeoutMs: 0 })
      : this.runner.tryRun('btrfs', ['subvolume', 'delete', path], { timeoutMs: 0 });
  }

  async delete(path: string): Promise<void> {
    await this.run(['delete', path], ['subvolume', 'delete', path]);
  }

  async setReadonly(path: string, on: boolean): Promise<void> {
    await this.run(['readonly', path, String(on)], ['property', 'set', '-f', '-ts', path, 'ro', String(on)]);
  }

  private async run(helperArgs: string[], progsArgs: string[]): Promise<void> {
    if (!this.helper) await this.runner.run('btrfs', progsArgs, { timeoutMs: 0 });
    else if (helperArgs.some((a) => /[\t\n]/.test(a))) await this.runner.run(this.helper, helperArgs, { timeoutMs: 0 });
    else await this.served(helperArgs);
  }

  /** Requests to the serving helper go one at a time: each written line gets one answer line. */
  private queue: Promise<unknown> = Promise.resolve();
  private server: { proc: ChildProcessByStdio<Writable, Readable, null>; lines: string[]; waiting: ((line: string | null) => void) | null } | null = null;

  private served(args: string[]): Promise<void> {
    const run = this.queue.then(async () => {
      const server = this.serverProcess();
      const answer = new Promise<string | null>((resolve) => {
        const ready = server.lines.shift();
        if (ready !== undefined) resolve(ready);
        else server.waiting = resolve;
      });
      // Held open while an answer is awaited; idle, the helper keeps nothing alive.
      const stdout = server.proc.stdout as unknown as { ref?: () => void; unref?: () => void };
      stdout.ref?.();
      server.proc.stdin.write(`${args.join('\t')}\n`);
      const line = await answer.finally(() => stdout.unref?.());
      if (line === null) throw new Error(`lxdts-btrfs ${args[0]}: the helper exited`);
      if (line !== 'ok') throw new Error(line.replace(/^err /, ''));
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  private serverProcess() {
    if (this.server) return this.server;
    const proc = spawn(this.helper as string, ['serve'], { stdio: ['pipe', 'pipe', 'ignore'] });
    const server = { proc, lines: [] as string[], waiting: null as ((line: string | null) => void) | null };
    let buffered = '';
    proc.stdout.setEncoding('utf8');
    proc.stdout.on('data', (chunk: string) => {
      buffered += chunk;
      for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        const waiting = server.waiting;
        server.waiting = null;
        if (waiting) waiting(line);
        else server.lines.push(line);
      }
    });
    const gone = () => {
      if (this.server === server) this.server = null;
      server.waiting?.(null);
      server.waiting = null;
    };
    proc.on('exit', gone);
    proc.on('error', gone);
    proc.stdin.on('error', gone);
    // Never what keeps the agent (or a test) alive.
    proc.unref();
    (proc.stdin as unknown as { unref?: () => void }).unref?.();
    (proc.stdout as unknown as { unref?: () => void }).unref?.();
    this.server = server;
    return server;
  }
}
