// Runs the host agent (apps/agent/dist/main.js) as a child of the daemon: waits until it answers, restarts it
// when it dies, stops it on daemon shutdown. Containers are liblxc-daemonized and outlive the agent.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { AgentReady } from '@lxdts/api-types';
import { AgentClient } from './agent.client.js';

export interface AgentProcessPaths {
  /** The daemon's $LXD_DIR. */
  varDir: string;
  /** Default `<varDir>/agent.socket`. */
  socket?: string;
}

export interface StartAgentOptions {
  debug?: boolean;
  verbose?: boolean;
  /** The agent entry point; default `$LXDTS_AGENT_MAIN` or apps/agent/dist/main.js beside this package. */
  mainPath?: string;
  /** Each line the agent logs (it writes LXD-style lines); default: the daemon's stderr. */
  onLog?: (line: string) => void;
  /** Told about every unexpected exit, before the restart. */
  onExit?: (code: number | null, signal: NodeJS.Signals | null) => void;
  /** How long a start may take to answer /ready (default 15 s). */
  readyTimeoutMs?: number;
  /** First restart delay, doubled per quick crash up to 30 s (default 1 s). */
  restartDelayMs?: number;
}

export interface AgentHandle {
  readonly client: AgentClient;
  readonly socketPath: string;
  /** The current agent process id (changes on restart). */
  pid(): number | undefined;
  /** Resolves once the current agent process answers /ready. */
  ready(): Promise<AgentReady>;
  /** Stops the agent (SIGTERM, then SIGKILL after 10 s) and does not restart it. Containers keep running. */
  stop(): Promise<void>;
}

export function defaultAgentMain(): string {
  return process.env['LXDTS_AGENT_MAIN'] || fileURLToPath(new URL('../../../agent/dist/main.js', import.meta.url));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitReady(client: AgentClient, child: ChildProcess, timeoutMs: number): Promise<AgentReady> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`The host agent exited during start (${child.exitCode ?? child.signalCode})`);
    try {
      const r = await client.ready({ timeoutMs: 2_000 });
      if (r.pid === child.pid) return r;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) throw new Error(`The host agent did not become ready within ${timeoutMs} ms`);
    await sleep(25);
  }
}

/** An agent left by a daemon that died without stopping it: ask it for its pid and terminate it. */
async function stopOrphan(client: AgentClient, socketPath: string): Promise<void> {
  let pid: number;
  try {
    pid = (await client.ready({ timeoutMs: 2_000 })).pid;
  } catch {
    return; // Nothing answers: a stale socket file, which the new agent removes itself.
  }
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  for (let i = 0; i < 400 && existsSync(socketPath); i++) await sleep(25);
}

export async function startAgent(paths: AgentProcessPaths, options: StartAgentOptions = {}): Promise<AgentHandle> {
  const socketPath = paths.socket ?? join(paths.varDir, 'agent.socket');
  const mainPath = options.mainPath ?? defaultAgentMain();
  if (!existsSync(mainPath)) throw new Error(`The host agent is not built: ${mainPath} is missing`);
  const onLog = options.onLog ?? ((line: string) => process.stderr.write(`${line}\n`));
  const readyTimeoutMs = options.readyTimeoutMs ?? 15_000;
  const baseDelay = options.restartDelayMs ?? 1_000;
  const client = new AgentClient(socketPath);
  await stopOrphan(client, socketPath);

  const args = [mainPath, '--socket', socketPath, '--var-dir', paths.varDir, '--exit-on-stdin-close'];
  if (options.debug) args.push('--debug');
  else if (options.verbose) args.push('--verbose');

  let child: ChildProcess;
  let readyPromise: Promise<AgentReady>;
  let stopping = false;
  let delay = baseDelay;
  let pendingRestart: { timer: NodeJS.Timeout; reject: (err: Error) => void } | undefined;

  const launch = (): Promise<AgentReady> => {
    const startedAt = Date.now();
    // stdin stays an open pipe: when the daemon dies, even by SIGKILL, the agent sees it close and exits.
    const current = spawn(process.execPath, args, { cwd: '/', stdio: ['pipe', 'pipe', 'pipe'] });
    child = current;
    for (const stream of [current.stdout, current.stderr]) createInterface({ input: stream }).on('line', onLog);
    current.once('exit', (code, signal) => {
      if (stopping) return;
      options.onExit?.(code, signal);
      // A crash soon after start backs off; an agent that ran a while restarts quickly.
      delay = Date.now() - startedAt > 60_000 ? baseDelay : Math.min(delay * 2, 30_000);
      onLog(`time="${new Date().toISOString()}" level=warning msg="Host agent exited (${code ?? signal}); restarting in ${delay} ms"`);
      readyPromise = new Promise<AgentReady>((resolve, reject) => {
        const timer = setTimeout(() => {
          pendingRestart = undefined;
          launch().then(resolve, reject);
        }, delay);
        pendingRestart = { timer, reject };
      });
      readyPromise.catch(() => undefined);
    });
    const ready = waitReady(client, current, readyTimeoutMs);
    ready.catch(() => undefined);
    return ready;
  };

  readyPromise = launch();
  try {
    await readyPromise;
  } catch (err) {
    stopping = true;
    child!.kill('SIGKILL');
    throw err;
  }

  return {
    client,
    socketPath,
    pid: () => child.pid,
    ready: () => readyPromise,
    async stop() {
      stopping = true;
      if (pendingRestart) {
        clearTimeout(pendingRestart.timer);
        pendingRestart.reject(new Error('The host agent was stopped'));
      }
      const c = child;
      if (c.exitCode === null && c.signalCode === null) {
        const exited = new Promise<void>((resolve) => c.once('exit', () => resolve()));
        c.kill('SIGTERM');
        const timer = setTimeout(() => c.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
      client.close();
    },
  };
}
