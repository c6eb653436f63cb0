// One lxdts daemon on a fresh temporary LXD_DIR, driven like LXD's own test suite drives `lxd`:
// `lxdts daemon` in the background, `lxdts waitready`, then `lxdts shutdown` (with a kill-by-pid fallback).
import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { isAlive, makeTempDir, removeTempDir, trackPid, untrackPid } from './cleanup.js';
import { type HttpResult, type RequestOptions, unixRequest } from './http-client.js';
import { LxcClient, type LxcOptions } from './lxc.js';
import { LXDTS_CLI, cleanEnv } from './paths.js';
import { type RunResult, run } from './run.js';

/**
 * The daemon under test: lxdts by default. `E2E_DAEMON_BIN=/path/to/lxd` runs the same tests against a real LXD
 * binary (e.g. the anchor's /opt/anc-lxd/usr/bin/lxd) on a fresh temporary LXD_DIR, to check the tests themselves.
 */
export const REFERENCE_LXD_BIN = process.env['E2E_DAEMON_BIN'] || '';
export const DAEMON_IS_LXDTS = REFERENCE_LXD_BIN === '';

/** How to run the daemon binary: `file prefix... daemonArgs...` starts it, `file prefix... ARGS` runs a CLI verb. */
export function daemonCommand(): { file: string; prefix: string[]; daemonArgs: string[] } {
  if (REFERENCE_LXD_BIN) return { file: REFERENCE_LXD_BIN, prefix: [], daemonArgs: ['--group', 'root'] };
  return { file: process.execPath, prefix: [LXDTS_CLI], daemonArgs: ['daemon'] };
}

export interface DaemonStartOptions {
  /** Extra flags for `lxdts daemon` (e.g. ['--debug']). */
  args?: string[];
  /** Seconds for `lxdts waitready` (default 60). */
  readyTimeout?: number;
  /** Program and arguments the daemon command is appended to, e.g. `['ip', 'netns', 'exec', NS]`; it must `exec`
   * the command so that `pid` stays the daemon's. */
  commandPrefix?: readonly string[];
  /** Extra environment for the daemon and `cli()` (undefined removes a variable). */
  env?: Record<string, string | undefined>;
}

export class TestDaemon {
  /** Temporary directory holding LXD_DIR (`lxd/`) and the daemon's output (`daemon.log`). */
  readonly root: string;
  readonly lxdDir: string;
  readonly socket: string;
  readonly logFile: string;
  /** The default `lxc` client (its own LXD_CONF). */
  readonly client: LxcClient;
  /** True when the last stop needed SIGTERM/SIGKILL because `lxdts shutdown` did not end the process. */
  lastStopForced = false;
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private readonly clients: LxcClient[] = [];
  private disposed = false;

  private constructor(private readonly options: DaemonStartOptions) {
    this.root = makeTempDir('daemon');
    // Unprivileged containers (host uid 1000000+) must be able to traverse down to their rootfs.
    chmodSync(this.root, 0o711);
    this.lxdDir = join(this.root, 'lxd');
    this.socket = join(this.lxdDir, 'unix.socket');
    this.logFile = join(this.root, 'daemon.log');
    this.client = this.newClient();
  }

  /** Start a daemon on a new empty LXD_DIR and wait until it is ready. */
  static async start(options: DaemonStartOptions = {}): Promise<TestDaemon> {
    const d = new TestDaemon(options);
    try {
      await d.launch();
    } catch (err) {
      await d.dispose();
      throw err;
    }
    return d;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  env(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
    return cleanEnv({ ...this.options.env, LXD_DIR: this.lxdDir, ...extra });
  }

  /** `lxdts ARGS...` (the admin CLI; `lxd ARGS...` in reference mode) against this daemon. */
  cli(args: readonly string[], timeoutMs = 60_000, input?: string | Buffer): Promise<RunResult> {
    const c = daemonCommand();
    return run(c.file, [...c.prefix, ...args], { env: this.env(), timeoutMs, ...(input === undefined ? {} : { input }) });
  }

  /** `lxc ARGS...` with the default client. */
  /** Runs `lxc`; one that times out gets the daemon's log tail and its operations added to its stderr (diagnosis). */
  async lxc(args: readonly string[], opts?: LxcOptions): Promise<RunResult> {
    const r = await this.client.run(args, opts);
    if (r.code !== -1 || args[0] === 'query') return r;
    const ops = await this.client.run(['query', '/1.0/operations?recursion=1'], { timeoutMs: 10_000 });
    const tail = this.log().split('\n').slice(-60).join('\n');
    return { ...r, stderr: `${r.stderr}\n--- operations: ${ops.stdout || ops.stderr}\n--- daemon log (tail):\n${tail}` };
  }

  /** A further `lxc` client with its own LXD_CONF, removed on dispose(). */
  newClient(): LxcClient {
    const c = new LxcClient(this.lxdDir);
    this.clients.push(c);
    return c;
  }

  /** Raw HTTP over the unix socket (a new connection per request). */
  request(opts: RequestOptions): Promise<HttpResult> {
    return unixRequest(this.socket, opts);
  }

  log(): string {
    return existsSync(this.logFile) ? readFileSync(this.logFile, 'utf8') : '';
  }

  private async launch(): Promise<void> {
    const fd = openSync(this.logFile, 'a');
    let child: ChildProcess;
    try {
      const c = daemonCommand();
      const [file, ...wrapper] = [...(this.options.commandPrefix ?? []), c.file];
      child = spawn(file!, [...wrapper, ...c.prefix, ...c.daemonArgs, ...(this.options.args ?? [])], {
        env: this.env(),
        stdio: ['ignore', fd, fd],
      });
    } finally {
      closeSync(fd);
    }
    this.child = child;
    trackPid(child.pid);
    this.exited = new Promise((resolve) => {
      child.on('error', () => resolve());
      child.on('exit', () => {
        untrackPid(child.pid);
        resolve();
      });
    });
    const ready = this.cli(['waitready', `--timeout=${this.options.readyTimeout ?? 60}`], ((this.options.readyTimeout ?? 60) + 10) * 1000);
    const outcome = await Promise.race([ready.then((r) => ({ kind: 'ready' as const, r })), this.exited.then(() => ({ kind: 'exited' as const }))]);
    if (outcome.kind === 'exited') {
      throw new Error(`daemon exited during start-up (code ${child.exitCode}, signal ${child.signalCode})\n${this.log()}`);
    }
    if (outcome.r.code !== 0) {
      throw new Error(`lxdts waitready failed (exit ${outcome.r.code}): ${outcome.r.stderr}\n--- daemon log:\n${this.log()}`);
    }
  }

  /** Stop the daemon: `lxdts shutdown`, then SIGTERM and SIGKILL by pid if it is still alive. Keeps LXD_DIR. */
  async stop(): Promise<void> {
    const child = this.child;
    this.lastStopForced = false;
    if (!child || !this.running) return;
    await this.cli(['shutdown', '--timeout=30'], 40_000);
    if (await this.waitExit(15_000)) return;
    this.lastStopForced = true;
    child.kill('SIGTERM');
    if (await this.waitExit(5_000)) return;
    child.kill('SIGKILL');
    await this.waitExit(5_000);
  }

  /** Stop the daemon with SIGTERM, which (as lxd) leaves running instances running. */
  async stopLeavingInstances(): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    child.kill('SIGTERM');
    if (await this.waitExit(15_000)) return;
    child.kill('SIGKILL');
    await this.waitExit(5_000);
  }

  /** Stop, then start a new daemon process on the same LXD_DIR. */
  async restart(): Promise<void> {
    await this.stop();
    await this.launch();
  }

  private async waitExit(ms: number): Promise<boolean> {
    const pid = this.child?.pid;
    const done = await Promise.race([this.exited.then(() => true), sleep(ms, undefined, { ref: false }).then(() => false)]);
    return done || (pid !== undefined && !isAlive(pid));
  }

  /** Stop the daemon and remove LXD_DIR, its log and every client configuration. Safe to call twice. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    try {
      await this.stop();
    } finally {
      for (const c of this.clients) c.dispose();
      removeTempDir(this.root);
    }
  }
}
