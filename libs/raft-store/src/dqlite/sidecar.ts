// Supervision of the native dqlite node process (native/lxdts-dqlite.c): build it, start it, wait for its
// "ready <address>" line, stop it (SIGTERM, then SIGKILL after a grace period), and run its offline recovery mode.
// node:child_process directly: this is a long-lived child whose stdout is a readiness protocol, not a command run.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { NodeRole } from './protocol-codes.js';

const execFileAsync = promisify(execFile);

/** libs/raft-store/native, found from this file's place in src/dqlite or dist/dqlite. */
export const nativeDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'native');

/** Where native/build.sh puts the binary. */
export function sidecarBinaryPath(): string {
  return join(nativeDir, 'build', 'lxdts-dqlite');
}

/** Runs native/build.sh (a no-op when the binary is up to date) and returns the binary's path. */
export async function buildSidecar(): Promise<string> {
  await execFileAsync('sh', [join(nativeDir, 'build.sh')], { timeout: 120_000 });
  return sidecarBinaryPath();
}

export interface SidecarOptions {
  /** Raft node id; id 1 bootstraps a new single-voter cluster on its first start. */
  id: number | bigint;
  /** The address peers and clients use for this node (host:port, or whatever the dial proxy understands). */
  address: string;
  /** Listen address when it differs from `address`: host:port or "@abstract". */
  bind?: string;
  /** Created (0700) when missing. Must be kept across restarts: it holds the raft log. */
  dataDir: string;
  /** One-way network latency; heartbeat is 1.5x, election timeout 15x. Default 20 ms (sub-second failover). */
  latencyMs?: number;
  failureDomain?: number;
  /** Outgoing raft connections go through this unix socket: it receives "<target address>\n" first. */
  dialProxy?: string;
  /**
   * With `bind: "@name"`: the node also listens on this pathname unix socket (mode 0600), relayed to the abstract
   * one. Needed because dqlite accepts abstract-socket connections only from its own process.
   */
  localSocket?: string;
  /** Let the node die with its parent (PR_SET_PDEATHSIG). Default true. */
  pdeathsig?: boolean;
  /** Default: sidecarBinaryPath(). */
  binary?: string;
  /** How long to wait for the "ready" line. Default 15 s (a long raft log takes a while to load). */
  readyTimeoutMs?: number;
  /** Receives the node's stderr lines. */
  onLog?: (line: string) => void;
}

export interface SidecarExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export class DqliteSidecar {
  /** Resolves when the process has exited (never rejects). */
  readonly exited: Promise<SidecarExit>;
  private exitInfo: SidecarExit | null = null;

  private constructor(
    private readonly child: ChildProcess,
    readonly id: bigint,
    readonly address: string,
    readonly bindAddress: string,
    exited: Promise<SidecarExit>,
  ) {
    this.exited = exited.then((e) => (this.exitInfo = e));
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get running(): boolean {
    return this.exitInfo === null;
  }

  static async start(options: SidecarOptions): Promise<DqliteSidecar> {
    const binary = options.binary ?? sidecarBinaryPath();
    if (!existsSync(binary)) throw new Error(`dqlite sidecar not built: ${binary} (run native/build.sh)`);
    mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
    const args = ['run', '--id', String(options.id), '--address', options.address, '--dir', options.dataDir];
    if (options.bind) args.push('--bind', options.bind);
    if (options.latencyMs !== undefined) args.push('--latency-ms', String(options.latencyMs));
    if (options.failureDomain !== undefined) args.push('--failure-domain', String(options.failureDomain));
    if (options.dialProxy) args.push('--dial-proxy', options.dialProxy);
    if (options.localSocket) args.push('--local-socket', options.localSocket);
    if (options.pdeathsig ?? true) args.push('--pdeathsig');

    const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<SidecarExit>((resolve) => {
      child.once('exit', (code, signal) => resolve({ code, signal }));
      child.once('error', () => resolve({ code: null, signal: null }));
    });
    const stderrTail: string[] = [];
    createInterface({ input: child.stderr! }).on('line', (line) => {
      stderrTail.push(line);
      if (stderrTail.length > 20) stderrTail.shift();
      options.onLog?.(line);
    });

    const timeoutMs = options.readyTimeoutMs ?? 15_000;
    const bindAddress = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`dqlite node ${options.id} not ready within ${timeoutMs} ms`));
      }, timeoutMs);
      const stdout = createInterface({ input: child.stdout! });
      stdout.on('line', (line) => {
        const m = /^ready (.+)$/.exec(line);
        if (!m) return;
        clearTimeout(timer);
        resolve(m[1]!);
      });
      child.once('error', (err) => {
        clearTimeout(timer);
        reject(new Error(`cannot start dqlite node ${options.id}: ${err.message}`));
      });
      void exited.then(({ code, signal }) => {
        clearTimeout(timer);
        // Waits a tick so stderr's last lines are in.
        setImmediate(() =>
          reject(
            new Error(
              `dqlite node ${options.id} exited before ready (${signal ?? `code ${code}`}): ${stderrTail.join(' | ')}`,
            ),
          ),
        );
      });
    });
    return new DqliteSidecar(child, BigInt(options.id), options.address, bindAddress, exited);
  }

  /** SIGTERM (the node stops cleanly; it does not hand over leadership), SIGKILL after `graceMs`. */
  async stop(graceMs = 5000): Promise<SidecarExit> {
    if (this.exitInfo) return this.exitInfo;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    const result = await this.exited;
    clearTimeout(timer);
    return result;
  }

  /** Sends a signal (tests: SIGKILL to simulate a crash). */
  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (this.running) this.child.kill(signal);
  }
}

export interface RecoverNode {
  id: number | bigint;
  address: string;
  role: NodeRole;
}

/**
 * Offline recovery after quorum loss ("recover-from-quorum-loss"): forces `nodes` as the new membership into the raft
 * log in `dataDir`. Run it with the node stopped, on the most up-to-date survivor only, then copy that data dir to the
 * other survivors before starting them.
 */
export async function recoverNode(options: {
  id: number | bigint;
  address: string;
  dataDir: string;
  nodes: readonly RecoverNode[];
  binary?: string;
}): Promise<void> {
  const args = ['recover', '--id', String(options.id), '--address', options.address, '--dir', options.dataDir];
  for (const n of options.nodes) args.push('--node', `${n.id},${n.address},${n.role}`);
  try {
    await execFileAsync(options.binary ?? sidecarBinaryPath(), args, { timeout: 60_000 });
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr?.trim();
    throw new Error(`dqlite recovery failed: ${stderr || (err as Error).message}`, { cause: err });
  }
}
