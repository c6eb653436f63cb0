// Containers through liblxc's command-line tools (lxc-start -d, lxc-stop, lxc-attach, lxc-info, ...).
// liblxc daemonizes each container under its own monitor, so containers outlive the agent; nothing here keeps
// per-container state in memory that a restart would lose.
import { randomBytes } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type {
  AgentInstanceSpec,
  AgentInstanceState,
  AgentInstanceSummary,
  AgentStartResult,
  AgentStopRequest,
} from '@lxdts/api-types';
import { AgentError, badRequest, conflict, timedOut } from '../errors.js';
import type { AgentLogger } from '../log.js';
import type { AgentPaths } from '../paths.js';
import type { ProcessRunner } from '../process/run.js';
import type { ContainerCommand, ContainerRuntime, ExecOptions } from './container-runtime.js';
import { type DeviceHost, type PathKind, resolveDevices } from './devices.js';
import { type HostFacts, buildLxcConfig, limitSettings } from './lxc-config.builder.js';
import { isActive, lxdStatus } from './lxc-status.js';
import { readNetwork, readUsage } from './instance-state.reader.js';

/** The log files a container has (LXD's `logs/<name>/`). */
const LOG_FILES = ['lxc.log', 'lxc.log.old', 'console.log', 'console.log.old'];

/** liblxc names become directory and socket names: keep them to LXD's instance-name alphabet plus `_`. */
const LXC_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

export interface LxcRuntimeOptions {
  paths: AgentPaths;
  runner: ProcessRunner;
  log: AgentLogger;
  host: HostFacts;
  /** lxc.log.level written into each config (LXD: warn). */
  lxcLogLevel?: string;
}

interface LxcInfo {
  state: string;
  pid: number;
}

export class LxcRuntime implements ContainerRuntime {
  private readonly paths: AgentPaths;
  private readonly runner: ProcessRunner;
  private readonly log: AgentLogger;
  private readonly host: HostFacts;
  private readonly lxcLogLevel: string;
  /** Serializes state changes per container (start, stop, freeze, rename, delete). */
  private readonly locks = new Map<string, Promise<unknown>>();

  constructor(options: LxcRuntimeOptions) {
    this.paths = options.paths;
    this.runner = options.runner;
    this.log = options.log;
    this.host = options.host;
    this.lxcLogLevel = options.lxcLogLevel ?? 'warn';
    mkdirSync(this.paths.lxcPath, { recursive: true, mode: 0o711 });
    mkdirSync(this.paths.logsDir, { recursive: true, mode: 0o700 });
    mkdirSync(this.paths.seccompDir, { recursive: true, mode: 0o700 });
  }

  configDir = (lxcName: string): string => join(this.paths.lxcPath, lxcName);
  logDir = (lxcName: string): string => join(this.paths.logsDir, lxcName);
  logFile = (lxcName: string): string => join(this.logDir(lxcName), 'lxc.log');
  consoleLogFile = (lxcName: string): string => join(this.logDir(lxcName), 'console.log');
  seccompFile = (lxcName: string): string => join(this.paths.seccompDir, lxcName);

  private lxcArgs(lxcName: string): string[] {
    return ['-P', this.paths.lxcPath, '-n', lxcName];
  }

  private async serialized<T>(lxcName: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(lxcName) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const settled = next.catch(() => undefined);
    this.locks.set(lxcName, settled);
    void settled.then(() => {
      if (this.locks.get(lxcName) === settled) this.locks.delete(lxcName);
    });
    return next;
  }

  async info(lxcName: string): Promise<LxcInfo> {
    checkName(lxcName);
    if (!existsSync(join(this.configDir(lxcName), 'config'))) return { state: 'STOPPED', pid: 0 };
    const r = await this.runner.tryRun('lxc-info', [...this.lxcArgs(lxcName), '-s', '-p'], { timeoutMs: 15_000 });
    if (r.exitCode !== 0) return { state: 'STOPPED', pid: 0 };
    const state = /^State:\s+(\S+)/m.exec(r.stdout)?.[1] ?? 'STOPPED';
    const pid = Number(/^PID:\s+(\d+)/m.exec(r.stdout)?.[1] ?? 0);
    return { state, pid };
  }

  async summary(lxcName: string): Promise<AgentInstanceSummary> {
    const info = await this.info(lxcName);
    return { lxcName, ...lxdStatus(info.state), pid: info.pid };
  }

  /**
   * Every container under the lxcpath. `lxc-ls --active` / `--frozen` answer in a few milliseconds where
   * `lxc-ls -f` asks each container in turn (30 ms and more for ten); pids come with the state call.
   */
  async list(): Promise<AgentInstanceSummary[]> {
    const names = (args: string[]) =>
      this.runner.run('lxc-ls', ['-P', this.paths.lxcPath, ...args, '-1'], { timeoutMs: 30_000 }).then((r) => new Set(r.stdout.split('\n').map((l) => l.trim()).filter(Boolean)));
    const [active, frozen] = await Promise.all([names(['--active']), names(['--frozen'])]);
    const all = existsSync(this.paths.lxcPath)
      ? readdirSync(this.paths.lxcPath).filter((n) => existsSync(join(this.paths.lxcPath, n, 'config')))
      : [];
    return all.sort().map((lxcName) => ({
      lxcName,
      ...lxdStatus(frozen.has(lxcName) ? 'FROZEN' : active.has(lxcName) ? 'RUNNING' : 'STOPPED'),
      pid: 0,
    }));
  }


  start(spec: AgentInstanceSpec): Promise<AgentStartResult> {
    checkName(spec.lxcName);
    return this.serialized(spec.lxcName, () => this.doStart(spec));
  }

  private async doStart(spec: AgentInstanceSpec): Promise<AgentStartResult> {
    const name = spec.lxcName;
    if (!spec.rootfsPath.startsWith('/')) throw badRequest(`rootfsPath must be absolute: "${spec.rootfsPath}"`);
    if (!existsSync(spec.rootfsPath)) throw badRequest(`Root file system "${spec.rootfsPath}" doesn't exist`);
    const current = await this.info(name);
    if (isActive(current.state)) throw conflict('The instance is already running');

    const devices = resolveDevices(spec, hostDeviceView);
    const files = { logFile: this.logFile(name), consoleLogFile: this.consoleLogFile(name), seccompProfile: this.seccompFile(name) };
    const config = buildLxcConfig({ spec, devices, host: this.host, files, logLevel: this.lxcLogLevel });

    mkdirSync(this.configDir(name), { recursive: true, mode: 0o700 });
    mkdirSync(this.logDir(name), { recursive: true, mode: 0o700 });
    // Keep the previous run's logs one generation, as LXD does (lxc.log.old).
    for (const f of [files.logFile, files.consoleLogFile]) if (existsSync(f)) renameSync(f, `${f}.old`);
    if (config.seccompPolicy !== null) writeFileAtomic(files.seccompProfile, config.seccompPolicy, 0o600);
    else rmSync(files.seccompProfile, { force: true });
    writeFileAtomic(join(this.configDir(name), 'config'), config.text, 0o600);

    const started = performance.now();
    const r = await this.runner.tryRun('lxc-start', [...this.lxcArgs(name), '-d'], { timeoutMs: 60_000 });
    let after = await this.info(name);
    if (r.exitCode === 0 && after.state === 'STARTING') {
      await this.runner.tryRun('lxc-wait', [...this.lxcArgs(name), '-s', 'RUNNING|STOPPED', '-t', '10'], { timeoutMs: 15_000 });
      after = await this.info(name);
    }
    if (r.exitCode !== 0 || after.state !== 'RUNNING') {
      const tail = logTail(files.logFile);
      const why = r.stderr.trim() || `state ${after.state}`;
      throw new AgentError('start_failed', `Failed to start container "${name}": ${why}${tail ? `\n${tail}` : ''}`);
    }
    this.log.info(`Started container ${name} (pid ${after.pid}) in ${(performance.now() - started).toFixed(0)} ms`);
    return { pid: after.pid, volatile: devices.volatile };
  }

  stop(lxcName: string, request: AgentStopRequest): Promise<void> {
    checkName(lxcName);
    return this.serialized(lxcName, async () => {
      const current = await this.info(lxcName);
      if (!isActive(current.state)) throw conflict('The instance is already stopped');
      if (request.force) {
        // Also ends a frozen container (liblxc kills and thaws it; covered by the runtime test).
        await this.runner.run('lxc-stop', [...this.lxcArgs(lxcName), '-k'], { timeoutMs: 60_000 });
        this.log.info(`Killed container ${lxcName}`);
        return;
      }
      if (current.state === 'FROZEN') throw conflict('The instance is frozen; unfreeze it or stop it with force');
      const t = request.timeoutSec < 0 ? -1 : Math.floor(request.timeoutSec);
      const r = await this.runner.tryRun('lxc-stop', [...this.lxcArgs(lxcName), '-t', String(t), '--nokill'], {
        timeoutMs: t < 0 ? 0 : (t + 15) * 1000,
      });
      const after = await this.info(lxcName);
      if (isActive(after.state)) {
        throw timedOut(`Failed shutting down instance, status is "${lxdStatus(after.state).status}"${r.stderr.trim() ? `: ${r.stderr.trim()}` : ''}`);
      }
      this.log.info(`Shut down container ${lxcName}`);
    });
  }

  async readLog(lxcName: string, file: string): Promise<string> {
    const path = this.logPath(lxcName, file);
    return existsSync(path) ? readFileSync(path, 'utf8') : '';
  }

  async clearLog(lxcName: string, file: string): Promise<void> {
    const path = this.logPath(lxcName, file);
    if (existsSync(path)) writeFileSync(path, '');
  }

  private logPath(lxcName: string, file: string): string {
    checkName(lxcName);
    if (!LOG_FILES.includes(file)) throw badRequest(`Unknown log file "${file}"`);
    return join(this.logDir(lxcName), file);
  }

  async applyLimits(lxcName: string, config: Record<string, string>): Promise<void> {
    for (const { key, value } of limitSettings(config, this.host)) {
      await this.runner.run('lxc-cgroup', [...this.lxcArgs(lxcName), key, value], { timeoutMs: 10_000 });
    }
  }

  freeze(lxcName: string): Promise<void> {
    checkName(lxcName);
    return this.serialized(lxcName, async () => {
      const current = await this.info(lxcName);
      if (current.state === 'FROZEN') throw conflict('The instance is already frozen');
      if (current.state !== 'RUNNING') throw conflict("The instance isn't running");
      await this.runner.run('lxc-freeze', this.lxcArgs(lxcName), { timeoutMs: 30_000 });
    });
  }

  unfreeze(lxcName: string): Promise<void> {
    checkName(lxcName);
    return this.serialized(lxcName, async () => {
      const current = await this.info(lxcName);
      if (current.state !== 'FROZEN') throw conflict("The instance isn't frozen");
      await this.runner.run('lxc-unfreeze', this.lxcArgs(lxcName), { timeoutMs: 30_000 });
    });
  }

  async state(lxcName: string): Promise<AgentInstanceState> {
    const info = await this.info(lxcName);
    const status = lxdStatus(info.state);
    if (!isActive(info.state) || info.pid === 0) {
      return {
        ...status,
        disk: {},
        memory: { usage: 0, usage_peak: 0, swap_usage: 0, swap_usage_peak: 0 },
        network: null,
        pid: 0,
        processes: 0,
        cpu: { usage: 0 },
      };
    }
    const usage = readUsage(info.pid);
    const network = await readNetwork(this.runner, info.pid);
    return { ...status, disk: {}, memory: usage.memory, network, pid: info.pid, processes: usage.processes, cpu: usage.cpu };
  }

  async exec(lxcName: string, request: ExecOptions): Promise<ContainerCommand> {
    const info = await this.info(lxcName);
    if (info.state !== 'RUNNING') throw conflict('Instance is not running');
    if (request.command.length === 0) throw badRequest('Missing command');
    for (const [k, v] of Object.entries(request.env)) {
      if (!/^[^=\0]+$/.test(k) || v.includes('\0')) throw badRequest(`Invalid environment variable: ${k}`);
    }
    // lxc-attach has no working-directory option (liblxc uses the caller's cwd); a shell changes into it.
    const command =
      request.cwd && request.cwd !== '/'
        ? ['/bin/sh', '-c', 'cd "$1" || exit 1; shift; exec "$@"', 'sh', request.cwd, ...request.command]
        : request.command;
    const args = [
      ...this.lxcArgs(lxcName),
      '--clear-env',
      '-u',
      String(request.uid),
      '-g',
      String(request.gid),
      ...Object.entries(request.env).flatMap(([k, v]) => ['-v', `${k}=${v}`]),
      '--',
      ...command,
    ];
    return this.runner.spawn('lxc-attach', args, { cwd: '/', timeoutMs: (request.timeoutSec ?? 0) * 1000 });
  }

  rename(lxcName: string, newLxcName: string): Promise<void> {
    checkName(lxcName);
    checkName(newLxcName);
    return this.serialized(lxcName, async () => {
      if (isActive((await this.info(lxcName)).state)) throw conflict('Renaming of running instance not allowed');
      if (existsSync(this.configDir(newLxcName)) || existsSync(this.logDir(newLxcName))) {
        throw conflict(`Container "${newLxcName}" already exists`);
      }
      // The config is rewritten at each start; only its directory, the logs and the policy move.
      for (const [from, to] of [
        [this.configDir(lxcName), this.configDir(newLxcName)],
        [this.logDir(lxcName), this.logDir(newLxcName)],
        [this.seccompFile(lxcName), this.seccompFile(newLxcName)],
      ] as const) {
        if (existsSync(from)) renameSync(from, to);
      }
    });
  }

  delete(lxcName: string): Promise<void> {
    checkName(lxcName);
    return this.serialized(lxcName, async () => {
      if (isActive((await this.info(lxcName)).state)) throw conflict('The instance is running');
      const dir = this.configDir(lxcName);
      rmSync(join(dir, 'config'), { force: true });
      // Only our own directory: never follow a symlink somewhere else (LXD-style containers/<name> links).
      try {
        if (lstatSync(dir).isDirectory()) rmSync(dir, { recursive: true, force: true });
      } catch {
        // Already gone.
      }
      rmSync(this.logDir(lxcName), { recursive: true, force: true });
      rmSync(this.seccompFile(lxcName), { force: true });
    });
  }
}

function checkName(lxcName: string): void {
  if (!LXC_NAME.test(lxcName)) throw badRequest(`Invalid container name "${lxcName}"`);
}

/** The last lines of lxc.log (its ERROR/WARN lines explain a failed start). */
export function logTail(file: string, lines = 15): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

function writeFileAtomic(file: string, text: string, mode: number): void {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, text, { mode });
  renameSync(tmp, file);
}

const hostDeviceView: DeviceHost = {
  pathKind(path: string): PathKind {
    try {
      const s = statSync(path);
      if (s.isDirectory()) return 'dir';
      if (s.isBlockDevice()) return 'block';
      if (s.isCharacterDevice()) return 'char';
      return 'file';
    } catch {
      return 'missing';
    }
  },
  interfaceExists: (name) => existsSync(`/sys/class/net/${name}`),
  randomBytes: (n) => randomBytes(n),
};
