// One console session on an upgraded agent connection (protocol: libs/api-types/src/agent/agent-console.ts).
// Spawns lxc-console on a pseudo-terminal (console-command.ts), reports `started` once it has set that terminal up
// (so input is never flushed, and a console that cannot be attached is an `error` frame), relays input and output,
// resizes the terminal, and detaches (SIGTERM to lxc-console: liblxc's clean exit) when the API asks or goes away.
import type { Duplex } from 'node:stream';
import { type AgentConsoleControl, type AgentConsoleExit, type AgentConsoleStart, type AgentConsoleStarted, AgentExecStream } from '@lxdts/api-types';
import { AgentError, conflict } from '../errors.js';
import { childPids, stdinTerminal } from '../exec/process-tree.js';
import { setTerminalSize } from '../exec/terminal-size.js';
import type { AgentLogger } from '../log.js';
import type { ProcessRunner, SpawnedProcess } from '../process/run.js';
import { asObject, int } from '../server/body.js';
import { AgentStreamChannel } from '../server/stream-channel.js';
import { type ConsoleLaunch, consoleAttachError, isConsoleTerminalReady } from './console-command.js';
import type { ConsoleLauncher } from './console-launcher.js';

export interface ConsoleSessionDeps {
  runner: ProcessRunner;
  launcher: ConsoleLauncher;
  log: AgentLogger;
  /** How long the API has to send the start frame (default 10 s). */
  startTimeoutMs?: number;
  /** How long lxc-console may take to set its terminal up; then the session goes on anyway (default 10 s). */
  attachTimeoutMs?: number;
  /** After the SIGTERM of a detach, SIGKILL follows after this long (default 3 s). */
  detachGraceMs?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** When the monitor is told about a resize, after the `stty` on lxc-console's terminal. */
const WINCH_DELAYS_MS = [50, 250];
/** What is kept of lxc-console's stderr for the error message. */
const STDERR_MAX = 16 * 1024;

/** Validates the start frame at the edge: wrong fields are a `bad_request` error frame. */
export function decodeConsoleStart(value: unknown): AgentConsoleStart {
  const o = asObject(value, 'start');
  const size = (key: string) => Math.min(Math.max(0, int(o, key, 0)), 0xffff);
  return { width: size('width'), height: size('height') };
}

export function decodeConsoleControl(payload: Buffer): AgentConsoleControl | null {
  try {
    const o = JSON.parse(payload.toString('utf8')) as Record<string, unknown>;
    if (o['type'] === 'resize' && Number.isInteger(o['width']) && Number.isInteger(o['height'])) {
      return { type: 'resize', width: o['width'] as number, height: o['height'] as number };
    }
  } catch {
    // Not JSON: ignored.
  }
  return null;
}

type Phase = 'waiting' | 'starting' | 'attaching' | 'attached' | 'done';

export class ConsoleSession {
  /** The connection to the API; destroying it ends the session (detaches from the console). */
  readonly channel: AgentStreamChannel<AgentConsoleStart>;
  private killTimer: NodeJS.Timeout | undefined;
  private phase: Phase = 'waiting';
  private start: AgentConsoleStart | undefined;
  private proc: SpawnedProcess | undefined;
  private launched: ConsoleLaunch | undefined;
  /** lxc-console's host pid (the pty helper's child) and its terminal, once attached. */
  private consolePid = 0;
  private tty: string | null = null;
  /** Input and output that arrive before the console is attached. */
  private readonly queuedInput: Buffer[] = [];
  private readonly pendingOutput: Buffer[] = [];
  private stderr = '';
  /** The API asked to detach (eof, or its connection closed). */
  private detached = false;
  private size: { width: number; height: number } | undefined;
  private resizing: Promise<void> = Promise.resolve();

  constructor(
    socket: Duplex,
    readonly lxcName: string,
    private readonly deps: ConsoleSessionDeps,
    /** Called once the socket is closed (for the server's registry). */
    private readonly onClosed: (s: ConsoleSession) => void = () => undefined,
  ) {
    this.channel = new AgentStreamChannel(socket, {
      label: `console ${lxcName}`,
      log: deps.log,
      startTimeoutMs: deps.startTimeoutMs ?? 10_000,
      decodeStart: decodeConsoleStart,
      events: {
        start: (start) => this.onStart(start),
        input: (data) => this.input(data),
        inputEnd: () => this.detach(),
        control: (payload) => {
          const c = decodeConsoleControl(payload);
          if (c) this.resize(c.width, c.height);
        },
        fail: (err) => this.fail(err),
        closed: () => this.closedByPeer(),
      },
    });
  }

  private onStart(start: AgentConsoleStart): void {
    if (this.phase !== 'waiting') return; // Done already (a console detached before its start frame).
    this.phase = 'starting';
    this.start = start;
    if (start.width > 0 && start.height > 0) this.size = { width: start.width, height: start.height };
    this.deps.launcher.prepare(this.lxcName, start).then(
      (launch) => this.launch(launch),
      (err: unknown) => this.fail(err),
    );
  }

  private launch(launch: ConsoleLaunch): void {
    if (this.channel.closed || this.phase !== 'starting') return;
    if (this.detached) {
      this.finish(0);
      return;
    }
    const proc = this.deps.runner.spawn(launch.file, launch.args, { env: launch.env });
    if (proc.pid === undefined) {
      void proc.exited.then(() => this.fail(new AgentError('internal', `Failed to run ${launch.file}`)));
      return;
    }
    this.proc = proc;
    this.launched = launch;
    this.phase = 'attaching';
    this.deps.log.debug(`console ${this.lxcName}: attaching (pid ${proc.pid})`);
    proc.stdin.on('error', () => undefined); // The console program may exit without reading its input.
    const stdout = proc.stdout as NodeJS.ReadableStream;
    const outputEnded = new Promise<void>((resolve) => {
      stdout.on('end', resolve);
      stdout.on('error', () => resolve());
    });
    stdout.on('data', (chunk: Buffer) => this.output(stdout, chunk));
    proc.stderr.on('data', (chunk: Buffer) => {
      if (this.stderr.length < STDERR_MAX) this.stderr += chunk.toString('utf8');
      this.deps.log.debug(`console ${this.lxcName}: ${chunk.toString('utf8').trim()}`);
    });
    void this.watchAttach(proc);
    void proc.exited.then(async (code) => {
      // The output pipe closes with the pty helper; don't wait forever for a descendant that keeps it open.
      await Promise.race([outputEnded, sleep(2_000)]);
      this.exited(code);
    });
  }

  private output(stdout: NodeJS.ReadableStream, chunk: Buffer): void {
    if (this.phase !== 'attached') {
      this.pendingOutput.push(chunk);
      return;
    }
    this.channel.output(AgentExecStream.Stdout, chunk, stdout);
  }

  /** Waits until lxc-console has taken its terminal over (or gives up waiting), then reports `started`. */
  private async watchAttach(proc: SpawnedProcess): Promise<void> {
    const root = proc.pid as number;
    const deadline = Date.now() + (this.deps.attachTimeoutMs ?? 10_000);
    let delay = 5;
    while (this.phase === 'attaching' && !this.channel.closed) {
      const child = childPids(root)[0];
      const tty = child ? stdinTerminal(child) : null;
      if (child && tty) {
        const r = await this.deps.runner.tryRun('stty', ['-F', tty, '-a'], { timeoutMs: 5_000 });
        if (this.phase !== 'attaching' || this.channel.closed) return;
        if (r.exitCode === 0 && isConsoleTerminalReady(r.stdout)) {
          this.attached(child, tty);
          return;
        }
      }
      if (Date.now() > deadline) {
        this.deps.log.warn(`console ${this.lxcName}: the console program did not set its terminal up; going on`);
        this.attached(child ?? 0, tty);
        return;
      }
      await sleep(delay);
      delay = Math.min(delay * 2, 50);
    }
  }

  private attached(consolePid: number, tty: string | null): void {
    this.phase = 'attached';
    this.consolePid = consolePid;
    this.tty = tty;
    this.deps.log.debug(`console ${this.lxcName}: attached (console pid ${consolePid}, ${tty})`);
    this.channel.started({ pid: this.proc?.pid ?? 0 } satisfies AgentConsoleStarted);
    for (const chunk of this.pendingOutput.splice(0)) this.channel.output(AgentExecStream.Stdout, chunk);
    for (const data of this.queuedInput.splice(0)) this.write(data);
    // lxc-console has given the proxy terminal its size before setting its own terminal up.
    this.launched?.windowChanged?.();
    if (this.size && (this.size.width !== this.start?.width || this.size.height !== this.start?.height)) {
      this.resize(this.size.width, this.size.height);
    }
    if (this.detached) this.stop();
  }

  private input(data: Buffer): void {
    if (this.detached || this.phase === 'done') return;
    if (this.phase !== 'attached') this.queuedInput.push(data);
    else this.write(data);
  }

  private write(data: Buffer): void {
    const stdin = this.proc?.stdin;
    if (!stdin || stdin.writableEnded || stdin.destroyed) return;
    this.channel.writeInput(stdin, data);
  }

  /** TIOCSWINSZ on lxc-console's terminal: it gets SIGWINCH and passes the size on to the console. */
  private resize(width: number, height: number): void {
    if (width <= 0 || height <= 0) return;
    this.size = { width, height };
    const tty = this.tty;
    if (this.phase !== 'attached' || !tty) return; // Applied once attached.
    this.resizing = this.resizing.then(async () => {
      const failed = await setTerminalSize(this.deps.runner, tty, width, height);
      if (failed !== null) this.deps.log.debug(`console ${this.lxcName}: resize ${width}x${height}: ${failed}`);
      // lxc-console handles its SIGWINCH asynchronously (copying the size onto the proxy terminal): tell the
      // monitor a little later, and once more in case lxc-console was slow.
      const changed = this.launched?.windowChanged;
      if (!changed) return;
      for (const ms of WINCH_DELAYS_MS) {
        setTimeout(() => {
          if (this.phase === 'attached') changed();
        }, ms).unref();
      }
    });
  }

  /** The API detaches: lxc-console exits cleanly on SIGTERM; the container keeps running. */
  private detach(): void {
    if (this.detached) return;
    this.detached = true;
    if (this.phase === 'waiting') {
      this.finish(0);
    } else if (this.phase === 'attaching' || this.phase === 'attached') {
      this.stop();
    }
    // 'starting': launch() sees `detached`.
  }

  private stop(): void {
    const proc = this.proc;
    if (!proc || this.killTimer) return;
    const consolePid = this.consolePid || childPids(proc.pid as number)[0] || 0;
    // Only while it is still the pty helper's child (its pid can't have been reused then).
    if (consolePid && childPids(proc.pid as number).includes(consolePid)) {
      try {
        process.kill(consolePid, 'SIGTERM');
      } catch {
        proc.kill('SIGKILL');
      }
    } else {
      proc.kill('SIGKILL');
    }
    this.killTimer = setTimeout(() => this.kill(), this.deps.detachGraceMs ?? 3_000);
    this.killTimer.unref();
  }

  private kill(): void {
    const proc = this.proc;
    if (!proc || this.phase === 'done') return;
    for (const pid of childPids(proc.pid as number)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Gone meanwhile.
      }
    }
    proc.kill('SIGKILL');
  }

  private exited(code: number): void {
    clearTimeout(this.killTimer);
    if (this.phase === 'done') return;
    if (this.phase !== 'attached' && !this.detached) {
      const e = consoleAttachError(this.stderr, code);
      this.fail(e.conflict ? conflict(e.message) : new AgentError('internal', e.message));
      return;
    }
    this.finish(code);
  }

  /** Output ended: eof, exit, close. */
  private finish(code: number): void {
    this.phase = 'done';
    this.deps.log.debug(`console ${this.lxcName}: ${this.detached ? 'detached' : 'console ended'} (status ${code})`);
    void this.resizing.then(() => {
      this.channel.eof(AgentExecStream.Stdout);
      this.channel.exit({ detached: this.detached, exitCode: code } satisfies AgentConsoleExit);
    });
  }

  /** Refuses the session with an error frame and closes. */
  private fail(err: unknown): void {
    if (this.phase === 'done') return;
    if (this.phase === 'attaching' || this.phase === 'attached') this.kill();
    this.phase = 'done';
    this.channel.refuse(err);
  }

  /** The API side went away (or the agent is shutting down): detach. */
  private closedByPeer(): void {
    if (this.phase === 'attaching' || this.phase === 'attached') {
      this.deps.log.debug(`console ${this.lxcName}: connection closed; detaching`);
      this.detached = true;
      this.stop();
    }
    this.onClosed(this);
  }
}
