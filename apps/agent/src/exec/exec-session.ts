// One streamed exec on an upgraded agent connection (protocol: libs/api-types/src/agent/agent-exec.ts).
// Spawns the process through the one process runner, relays stdin/stdout/stderr as frames, finds the command's
// pid under lxc-attach for signals, resizes the pty, reports the exit code, and kills the command when the API
// side goes away first.
import type { Duplex } from 'node:stream';
import { type AgentExecControl, type AgentExecExit, type AgentExecStart, type AgentExecStarted, AgentExecStream } from '@lxdts/api-types';
import { AgentError, badRequest } from '../errors.js';
import type { AgentLogger } from '../log.js';
import type { ProcessRunner, SpawnedProcess } from '../process/run.js';
import { type Json, asObject, bool, int, str, stringArray, stringMap } from '../server/body.js';
import { AgentStreamChannel } from '../server/stream-channel.js';
import type { ExecLaunch } from './attach-command.js';
import type { ExecLauncher } from './exec-launcher.js';
import { childPids, findCommand, stdinTerminal } from './process-tree.js';
import { OnlcrReverser } from './pty-output.js';
import { setTerminalSize } from './terminal-size.js';

export interface ExecSessionDeps {
  runner: ProcessRunner;
  launcher: ExecLauncher;
  log: AgentLogger;
  /** How long the API has to send the start frame (default 10 s). */
  startTimeoutMs?: number;
  /** Interactive input waits for the command (lxc-attach flushes its terminal's input while it sets it up); at most this long (default 5 s). */
  inputHoldMs?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Validates the start frame at the edge: wrong fields are a `bad_request` error frame. */
export function decodeExecStart(value: unknown): AgentExecStart {
  const o: Json = asObject(value, 'start');
  const command = stringArray(o, 'command');
  if (command.length === 0) throw badRequest('Missing command');
  if (command.some((a) => a.includes('\0'))) throw badRequest('Invalid command: NUL byte');
  const env = stringMap(o, 'env', true);
  for (const [k, v] of Object.entries(env)) {
    if (!/^[^=\0]+$/.test(k) || v.includes('\0')) throw badRequest(`Invalid environment variable: ${k}`);
  }
  const cwd = str(o, 'cwd', true) ?? '';
  if (cwd.includes('\0')) throw badRequest('Invalid cwd');
  const id = (key: string) => {
    const n = int(o, key, 0);
    if (n < 0 || n > 0xffffffff) throw badRequest(`"${key}" must be a uint32`);
    return n;
  };
  const size = (key: string) => Math.max(0, int(o, key, 0));
  const interactive = bool(o, 'interactive', false);
  return { command, env, cwd, uid: id('uid'), gid: id('gid'), interactive, width: size('width'), height: size('height'), armed: bool(o, 'armed', false) };
}

function decodeControl(payload: Buffer): AgentExecControl | null {
  try {
    const o = JSON.parse(payload.toString('utf8')) as Record<string, unknown>;
    if (o['type'] === 'go') return { type: 'go' };
    if (o['type'] === 'signal' && Number.isInteger(o['signal'])) return { type: 'signal', signal: o['signal'] as number };
    if (o['type'] === 'resize' && Number.isInteger(o['width']) && Number.isInteger(o['height'])) {
      return { type: 'resize', width: o['width'] as number, height: o['height'] as number };
    }
  } catch {
    // Not JSON: ignored, as LXD ignores control messages it can't read.
  }
  return null;
}

export class ExecSession {
  /** The connection to the API; destroying it ends the session (the command is killed). */
  readonly channel: AgentStreamChannel<AgentExecStart>;
  private readonly onlcr = new OnlcrReverser();
  private phase: 'waiting' | 'starting' | 'armed' | 'running' | 'done' = 'waiting';
  /** Armed: the launch to run on `go` (null once lxdts-attach waits for its go byte). */
  private armedLaunch: ExecLaunch | null = null;
  private start: AgentExecStart | undefined;
  private proc: SpawnedProcess | undefined;
  /** Host pid of the command once found under lxc-attach. */
  private commandPid = 0;
  /** Input that arrived before it can be written; `null` is the end of input. */
  private queued: (Buffer | null)[] = [];
  /** Interactive input waits for the command (see `inputHoldMs`). */
  private holdInput = false;
  private stdinEnded = false;
  private pendingSignals: number[] = [];
  private size: { width: number; height: number } | undefined;
  private resizing: Promise<void> = Promise.resolve();
  private readonly outputEnded = new Set<number>();
  private launched: ExecLaunch | undefined;

  constructor(
    socket: Duplex,
    readonly lxcName: string,
    private readonly deps: ExecSessionDeps,
    /** Called once the socket is closed (for the server's registry). */
    private readonly onClosed: (s: ExecSession) => void = () => undefined,
  ) {
    this.channel = new AgentStreamChannel(socket, {
      label: `exec ${lxcName}`,
      log: deps.log,
      startTimeoutMs: deps.startTimeoutMs ?? 10_000,
      decodeStart: decodeExecStart,
      events: {
        start: (start) => this.onStart(start),
        input: (data) => this.input(data),
        inputEnd: () => this.input(null),
        control: (payload) => {
          const c = decodeControl(payload);
          if (c?.type === 'go') this.go();
          else if (c?.type === 'signal') this.signal(c.signal);
          else if (c?.type === 'resize') this.resize(c.width, c.height);
        },
        fail: (err) => this.fail(err),
        closed: () => this.closedByPeer(),
      },
    });
  }

  private onStart(start: AgentExecStart): void {
    if (this.phase !== 'waiting') return; // Done already (a console detached before its start frame).
    this.phase = 'starting';
    this.start = start;
    this.holdInput = start.interactive;
    if (start.width > 0 && start.height > 0) this.size = { width: start.width, height: start.height };
    this.deps.launcher.prepare(this.lxcName, start).then(
      (launch) => (start.armed ? this.arm(start, launch) : this.launch(start, launch)),
      (err: unknown) => this.fail(err),
    );
  }

  /** Armed start: lxdts-attach is spawned now and waits for its go byte; anything else is spawned on `go`. */
  private arm(start: AgentExecStart, launch: ExecLaunch): void {
    if (this.channel.closed || this.phase !== 'starting') return;
    if (!launch.waitsForGo) {
      this.phase = 'armed';
      this.armedLaunch = launch;
      this.channel.started({ pid: 0 } satisfies AgentExecStarted);
      return;
    }
    const proc = this.spawn(start, launch);
    if (!proc) return;
    this.phase = 'armed';
    this.channel.started({ pid: proc.pid as number } satisfies AgentExecStarted);
  }

  /** The API's go: the command runs now. */
  private go(): void {
    if (this.phase !== 'armed' || !this.start) return;
    const launch = this.armedLaunch;
    if (launch) {
      this.armedLaunch = null;
      this.launch(this.start, launch, false);
      return;
    }
    const proc = this.proc as SpawnedProcess;
    this.phase = 'running';
    proc.stdin.write(Buffer.of(0x67)); // lxdts-attach's go byte; the command's input follows it.
    this.running(proc);
  }

  private launch(start: AgentExecStart, launch: ExecLaunch, announce = true): void {
    if (this.channel.closed) return;
    const proc = this.spawn(start, launch);
    if (!proc) return;
    this.phase = 'running';
    if (announce) this.channel.started({ pid: proc.pid as number } satisfies AgentExecStarted);
    this.running(proc);
  }

  /** Spawns the launch and relays its output; null (and an error frame) when it could not be spawned. */
  private spawn(start: AgentExecStart, launch: ExecLaunch): SpawnedProcess | null {
    const proc = this.deps.runner.spawn(launch.file, launch.args, { cwd: launch.cwd, env: launch.env });
    if (proc.pid === undefined) {
      void proc.exited.then(() => this.fail(new AgentError('internal', `Failed to run ${launch.file}`)));
      return null;
    }
    this.proc = proc;
    this.launched = launch;
    this.deps.log.debug(`exec ${this.lxcName}: spawned ${launch.file} for ${JSON.stringify(start.command)} (pid ${proc.pid}, interactive ${start.interactive})`);
    proc.stdin.on('error', () => undefined); // The command may exit without reading its input.
    this.pump(proc.stdout as NodeJS.ReadableStream, AgentExecStream.Stdout, start.interactive);
    this.pump(proc.stderr as NodeJS.ReadableStream, AgentExecStream.Stderr, false);
    void proc.exited.then((code) => this.exited(code));
    return proc;
  }

  /** The command runs: find it (signals, held input) and let the input through. */
  private running(proc: SpawnedProcess): void {
    void this.watchCommand(proc, this.launched as ExecLaunch);
    if (!this.holdInput) this.flushInput();
  }

  private pump(stream: NodeJS.ReadableStream, id: number, pty: boolean): void {
    stream.on('data', (chunk: Buffer) => {
      const data = pty ? this.onlcr.push(chunk) : chunk;
      if (data.length > 0) this.channel.output(id, data, stream);
    });
    stream.on('end', () => {
      if (pty) {
        const rest = this.onlcr.flush();
        if (rest.length > 0) this.channel.output(id, rest);
      }
      this.endOutput(id);
    });
  }

  private endOutput(id: number): void {
    if (this.outputEnded.has(id)) return;
    this.outputEnded.add(id);
    this.channel.eof(id);
  }

  /** Polls /proc for the command under lxc-attach: signals go to it, interactive input waits for it. */
  private async watchCommand(proc: SpawnedProcess, launch: ExecLaunch): Promise<void> {
    const root = proc.pid as number;
    const holdUntil = Date.now() + (this.deps.inputHoldMs ?? 5_000);
    let delay = 1;
    while (this.phase === 'running' && !this.channel.closed) {
      const found = findCommand(root, launch.depth, this.deps.launcher.isCommand);
      if (found) {
        this.commandPid = found.pid;
        this.deps.log.debug(`exec ${this.lxcName}: command pid ${found.pid}`);
        break;
      }
      if (this.holdInput && Date.now() > holdUntil) {
        this.deps.log.warn(`exec ${this.lxcName}: command not found under pid ${root}; sending input anyway`);
        this.releaseInput();
      }
      await sleep(delay);
      delay = Math.min(delay * 2, 50);
    }
    if (this.commandPid === 0) return;
    this.releaseInput();
    for (const s of this.pendingSignals.splice(0)) this.signal(s);
    // The size asked for before the pty existed (stty in the start-up line covers the initial one).
    if (this.size && (this.size.width !== this.start?.width || this.size.height !== this.start?.height)) {
      this.resize(this.size.width, this.size.height);
    }
  }

  private input(data: Buffer | null): void {
    if (this.phase !== 'running' || this.holdInput) this.queued.push(data);
    else this.write(data);
  }

  private releaseInput(): void {
    if (!this.holdInput) return;
    this.holdInput = false;
    this.flushInput();
  }

  private flushInput(): void {
    for (const d of this.queued.splice(0)) this.write(d);
  }

  private write(data: Buffer | null): void {
    const stdin = this.proc?.stdin;
    if (!stdin || this.stdinEnded) return;
    if (data === null) {
      this.stdinEnded = true;
      stdin.end();
      // Interactive: LXD closes the pty master on the client's end of input, a hangup for the command (SIGHUP);
      // closing the helper's input also sends the terminal's EOF character (^D).
      if (this.start?.interactive) this.hangup();
      return;
    }
    this.channel.writeInput(stdin, data);
  }

  private signal(signal: number): void {
    // After the exit the pid may belong to another process.
    if (signal < 1 || signal > 64 || this.phase === 'done') return;
    if (this.commandPid === 0) {
      this.pendingSignals.push(signal);
      return;
    }
    try {
      process.kill(this.commandPid, signal);
      this.deps.log.debug(`exec ${this.lxcName}: forwarded signal ${signal} to pid ${this.commandPid}`);
    } catch (err) {
      this.deps.log.debug(`exec ${this.lxcName}: signal ${signal} to pid ${this.commandPid}: ${(err as Error).message}`);
    }
  }

  /** SIGHUP to the command's process group (the kernel's hangup of a terminal), else to the command. */
  private hangup(): void {
    if (this.phase === 'done') return;
    if (this.commandPid === 0) {
      this.pendingSignals.push(1);
      return;
    }
    try {
      process.kill(-this.commandPid, 'SIGHUP');
    } catch {
      this.signal(1);
    }
  }

  /** TIOCSWINSZ on the pty lxc-attach reads from; the kernel sends it SIGWINCH and it resizes the container's pty. */
  private resize(width: number, height: number): void {
    if (!this.start?.interactive || width <= 0 || height <= 0) return;
    this.size = { width, height };
    const helper = this.proc?.pid ? childPids(this.proc.pid)[0] : undefined;
    const tty = helper ? stdinTerminal(helper) : null;
    if (!tty) return; // Applied once the command is found.
    this.resizing = this.resizing.then(async () => {
      const failed = await setTerminalSize(this.deps.runner, tty, width, height);
      if (failed !== null) this.deps.log.debug(`exec ${this.lxcName}: resize ${width}x${height}: ${failed}`);
    });
  }

  private exited(code: number): void {
    this.phase = 'done';
    this.endOutput(AgentExecStream.Stdout);
    this.endOutput(AgentExecStream.Stderr);
    this.deps.log.debug(`exec ${this.lxcName}: exit ${code}`);
    void this.resizing.then(() => this.channel.exit({ exitCode: code } satisfies AgentExecExit));
  }

  /** Refuses the exec with an error frame and closes. */
  private fail(err: unknown): void {
    if (this.phase === 'done') return;
    if (this.proc) this.kill();
    this.phase = 'done';
    this.channel.refuse(err);
  }

  /** The API side went away (or the agent is shutting down): a command still running is killed. */
  private closedByPeer(): void {
    if (this.phase === 'armed' && this.proc) this.kill(); // Never went: nothing ran.
    if (this.phase === 'running') {
      this.deps.log.info(`exec ${this.lxcName}: connection closed while the command runs; killing it`);
      this.kill();
    }
    this.onClosed(this);
  }

  /** SIGKILL to the command and to the process the agent spawned (before `phase` becomes done). */
  private kill(): void {
    if (this.commandPid) this.signal(9);
    this.proc?.kill('SIGKILL');
  }
}
