// The REAL `lxc` 5.0.2 client, pointed at one daemon (LXD_DIR → its unix socket) with a private LXD_CONF.
import { spawn, type ChildProcess } from 'node:child_process';
import { makeTempDir, removeTempDir, trackPid, untrackPid } from './cleanup.js';
import { LXC_BIN, cleanEnv } from './paths.js';
import { type RunOptions, type RunResult, run } from './run.js';

export interface LxcOptions extends Omit<RunOptions, 'env'> {
  /** Extra environment variables (undefined removes one). */
  env?: Record<string, string | undefined>;
}

/** A client configuration directory (LXD_CONF) of its own: client.crt/key, config.yml, servercerts/. */
export class LxcClient {
  readonly conf: string;
  private readonly ownsConf: boolean;

  /** @param lxdDir the daemon's LXD_DIR (for the `local` remote); @param conf an existing LXD_CONF dir to use. */
  constructor(
    readonly lxdDir: string,
    conf?: string,
  ) {
    this.ownsConf = conf === undefined;
    this.conf = conf ?? makeTempDir('conf');
  }

  env(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
    return cleanEnv({ LXD_DIR: this.lxdDir, LXD_CONF: this.conf, ...extra });
  }

  /** `lxc ARGS...`: never throws on a non-zero exit; 60 s timeout unless told otherwise. */
  run(args: readonly string[], opts: LxcOptions = {}): Promise<RunResult> {
    return run(LXC_BIN, args, { ...opts, env: this.env(opts.env) });
  }

  /** `lxc query [--request M] [--data D] PATH` → parsed JSON (undefined when the output is not JSON). */
  async query(path: string, opts: { method?: string; data?: unknown } = {}): Promise<{ result: RunResult; json: any }> {
    const args = ['query'];
    if (opts.method) args.push('--request', opts.method);
    if (opts.data !== undefined) args.push('--data', typeof opts.data === 'string' ? opts.data : JSON.stringify(opts.data));
    args.push(path);
    const result = await this.run(args);
    let json: any;
    try {
      json = result.stdout.trim() === '' ? undefined : JSON.parse(result.stdout);
    } catch {
      json = undefined;
    }
    return { result, json };
  }

  /** Start a long-running `lxc` (e.g. `monitor`) in the background; stop it with stopBackground(). */
  spawnBackground(args: readonly string[], opts: { env?: Record<string, string | undefined> } = {}): BackgroundLxc {
    return new BackgroundLxc(spawn(LXC_BIN, args, { env: this.env(opts.env), stdio: ['ignore', 'pipe', 'pipe'] }));
  }

  /** Remove the temporary LXD_CONF (when this object created it). */
  dispose(): void {
    if (this.ownsConf) removeTempDir(this.conf);
  }
}

export class BackgroundLxc {
  stdout = '';
  stderr = '';
  readonly exited: Promise<number | null>;

  constructor(readonly child: ChildProcess) {
    trackPid(child.pid);
    child.stdout!.on('data', (c: Buffer) => (this.stdout += c.toString('utf8')));
    child.stderr!.on('data', (c: Buffer) => (this.stderr += c.toString('utf8')));
    this.exited = new Promise((resolve) => {
      child.on('error', () => resolve(-1));
      child.on('close', (code) => {
        untrackPid(child.pid);
        resolve(code);
      });
    });
  }

  /** SIGTERM, then SIGKILL after 3 s; resolves once the process is gone. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGTERM');
    const t = setTimeout(() => this.child.kill('SIGKILL'), 3000);
    await this.exited;
    clearTimeout(t);
  }
}
