// Containers through liblxc's command-line tools (lxc-start -d, lxc-stop, lxc-attach, lxc-info, ...).
// liblxc daemonizes each container under its own monitor, so containers outlive the agent; nothing here keeps
// per-container state in memory that a restart would lose.
import { randomBytes } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
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
import { readNetwork } from './instance-state.reader.js';
import {
  configuredContainers,
  findInit,
  processStartTime,
  readPidFile,
  removeFile,
  writeInitRecord,
} from './container-process.js';
import { type FastActive, type LxcInfo, fastActive, fastInfo, fastState, initFile, monitorFile, withUsage } from './fast-state.js';
import { HostLinks } from './proc-net.js';
import { StateWorker } from './state-worker.js';

/** The disk hot-plug helper native/build.sh makes (dist/runtime/ → native/build/). */
const MOUNT_HELPER_PATH = fileURLToPath(new URL('../../native/build/lxdts-mount', import.meta.url));

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


export class LxcRuntime implements ContainerRuntime {
  private readonly paths: AgentPaths;
  private readonly runner: ProcessRunner;
  private readonly log: AgentLogger;
  private readonly host: HostFacts;
  private readonly lxcLogLevel: string;
  /** Serializes state changes per container (start, stop, freeze, rename, delete). */
  private readonly locks = new Map<string, Promise<unknown>>();
  private readonly hostLinks = new HostLinks();
  private readonly stateWorker = new StateWorker();
  /**
   * Containers that run without an `init.pid` (started by an agent that wrote none) are found once, with
   * `lxc-ls --active`, and recorded; after that every status is read from /proc (see `info`).
   */
  private adopted: Promise<void> | undefined;

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

  /** `<lxcpath>/<name>/init.pid`: the init the agent saw at start (container-process.ts). */
  private initFile = (lxcName: string): string => initFile(this.paths.lxcPath, lxcName);
  /** `<lxcpath>/<name>/monitor.pid`: written by liblxc's monitor (`lxc-start -p`), removed when it exits. */
  private monitorFile = (lxcName: string): string => monitorFile(this.paths.lxcPath, lxcName);

  /**
   * A container's liblxc state and init pid. No process is spawned in the usual cases: never started (no config),
   * running or frozen (the recorded init is alive and in the container's cgroup; freezer state from the cgroup),
   * stopped (no live init and no monitor). Only a monitor without a live init (starting, stopping, rebooting) or a
   * record that can't be read asks `lxc-info`, which then records the init it reports.
   */
  async info(lxcName: string): Promise<LxcInfo> {
    checkName(lxcName);
    if (!existsSync(join(this.configDir(lxcName), 'config'))) return { state: 'STOPPED', pid: 0 };
    await this.adopt();
    return fastInfo(this.paths.lxcPath, lxcName) ?? this.lxcInfo(lxcName);
  }

  /** Asks liblxc (one `lxc-info`) and records what it says for the next, spawn-free, reads. */
  private async lxcInfo(lxcName: string): Promise<LxcInfo> {
    const r = await this.runner.tryRun('lxc-info', [...this.lxcArgs(lxcName), '-s', '-p'], { timeoutMs: 15_000 });
    if (r.exitCode !== 0) return { state: 'STOPPED', pid: 0 };
    const state = /^State:\s+(\S+)/m.exec(r.stdout)?.[1] ?? 'STOPPED';
    const pid = Number(/^PID:\s+(\d+)/m.exec(r.stdout)?.[1] ?? 0);
    this.record(lxcName, state, pid);
    return { state, pid };
  }

  private record(lxcName: string, state: string, pid: number): void {
    try {
      if ((state === 'RUNNING' || state === 'FROZEN') && pid > 1) {
        const startTime = processStartTime(pid);
        if (startTime !== null) writeInitRecord(this.initFile(lxcName), { pid, startTime });
      } else if (state === 'STOPPED') {
        removeFile(this.initFile(lxcName));
      }
    } catch (err) {
      this.log.warn(`Could not record the init pid of ${lxcName}: ${(err as Error).message}`);
    }
  }

  /** Once per agent: records the init of every active container that has no `init.pid` yet. */
  private adopt(): Promise<void> {
    this.adopted ??= (async () => {
      const names = configuredContainers(this.paths.lxcPath).filter((n) => LXC_NAME.test(n) && !existsSync(this.initFile(n)));
      if (names.length === 0) return;
      const r = await this.runner.tryRun('lxc-ls', ['-P', this.paths.lxcPath, '--active', '-1'], { timeoutMs: 30_000 });
      const active = new Set(r.stdout.split('\n').map((l) => l.trim()));
      for (const n of names) if (active.has(n)) await this.lxcInfo(n);
    })().catch((err: unknown) => this.log.warn(`Could not look for running containers: ${(err as Error).message}`));
    return this.adopted;
  }

  async summary(lxcName: string): Promise<AgentInstanceSummary> {
    const info = await this.info(lxcName);
    return { lxcName, ...lxdStatus(info.state), pid: info.pid };
  }

  /** Every container under the lxcpath, from /proc (see `info`); pids come with the state call. */
  async list(): Promise<AgentInstanceSummary[]> {
    await this.adopt();
    const names = configuredContainers(this.paths.lxcPath).filter((n) => LXC_NAME.test(n)).sort();
    return Promise.all(
      names.map(async (lxcName) => {
        const info = fastInfo(this.paths.lxcPath, lxcName) ?? (await this.lxcInfo(lxcName));
        return { lxcName, ...lxdStatus(info.state), pid: 0 };
      }),
    );
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
    removeFile(this.initFile(name));
    removeFile(this.monitorFile(name));
    // -p: liblxc's monitor writes its pid there and removes the file when it exits. lxc-start -d returns once the
    // container runs (or failed to); its init is then the monitor's child that is pid 1 in its namespace.
    const r = await this.runner.tryRun('lxc-start', [...this.lxcArgs(name), '-d', '-p', this.monitorFile(name)], { timeoutMs: 60_000 });
    let after: LxcInfo = { state: 'STOPPED', pid: 0 };
    if (r.exitCode === 0) {
      const monitor = readPidFile(this.monitorFile(name));
      const init = monitor === null ? null : findInit(monitor, name);
      if (init) {
        writeInitRecord(this.initFile(name), init);
        after = { state: 'RUNNING', pid: init.pid };
      } else {
        after = await this.lxcInfo(name);
        if (after.state === 'STARTING') {
          await this.runner.tryRun('lxc-wait', [...this.lxcArgs(name), '-s', 'RUNNING|STOPPED', '-t', '10'], { timeoutMs: 15_000 });
          after = await this.lxcInfo(name);
        }
      }
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
        // lxc-stop returns once the monitor reports the container stopped.
        await this.runner.run('lxc-stop', [...this.lxcArgs(lxcName), '-k'], { timeoutMs: 60_000 });
        removeFile(this.initFile(lxcName));
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

  /** Resolves the devices against this host as a start would (parents, sources); throws the start's 400. */
  checkDevices(spec: AgentInstanceSpec): void {
    checkName(spec.lxcName);
    resolveDevices(spec, hostDeviceView);
  }

  async hotplugDisks(spec: AgentInstanceSpec, change: { add: string[]; remove: string[] }): Promise<void> {
    checkName(spec.lxcName);
    const mounts = resolveDevices(spec, hostDeviceView).mounts.filter((m) => change.add.includes(m.device));
    await this.serialized(spec.lxcName, async () => {
      const { state, pid } = await this.info(spec.lxcName);
      if ((state !== 'RUNNING' && state !== 'FROZEN') || pid <= 0) throw conflict("The instance isn't running");
      if (!existsSync(MOUNT_HELPER_PATH)) throw badRequest('Adding disks to a running container needs lxdts-mount (apps/agent/native/build.sh); restart the instance instead');
      for (const path of change.remove) {
        if (!path.startsWith('/')) throw badRequest(`Invalid disk path "${path}"`);
        await this.runner.run(MOUNT_HELPER_PATH, ['umount', String(pid), path], { timeoutMs: 30_000 });
      }
      for (const m of mounts) {
        const opts = [...(m.shift ? ['idmap'] : []), ...(m.readonly ? ['ro'] : []), ...(m.recursive ? ['rec'] : [])];
        await this.runner.run(MOUNT_HELPER_PATH, ['mount', String(pid), m.source, m.path, ...opts], { timeoutMs: 30_000 });
        this.log.info(`Mounted ${m.source} at ${m.path} in running container ${spec.lxcName}`);
      }
    });
  }

  async hotplugNics(spec: AgentInstanceSpec, change: { add: string[]; remove: { name: string; hostName: string }[] }): Promise<Record<string, string>> {
    checkName(spec.lxcName);
    const resolved = resolveDevices(spec, hostDeviceView);
    const nics = resolved.nics.filter((n) => change.add.includes(n.device));
    for (const n of nics) {
      if (n.routed || n.type === 'phys') throw badRequest(`Device "${n.device}": ${n.routed ? 'routed' : 'physical'} NICs are added at the next start, not to a running container`);
    }
    return this.serialized(spec.lxcName, async () => {
      const { state, pid } = await this.info(spec.lxcName);
      if ((state !== 'RUNNING' && state !== 'FROZEN') || pid <= 0) throw conflict("The instance isn't running");
      const inside = (args: string[]) => this.runner.run('nsenter', ['-t', String(pid), '-n', 'ip', ...args], { timeoutMs: 30_000 });
      for (const r of change.remove) {
        // A veth goes with its host side; a macvlan lives only inside.
        if (r.hostName && existsSync(`/sys/class/net/${r.hostName}`)) await this.runner.run('ip', ['link', 'delete', 'dev', r.hostName], { timeoutMs: 30_000 });
        else if (r.name) await this.runner.tryRun('nsenter', ['-t', String(pid), '-n', 'ip', 'link', 'delete', 'dev', r.name], { timeoutMs: 30_000 });
      }
      const volatile: Record<string, string> = {};
      for (const n of nics) {
        const tmp = `lxdtsh${randomBytes(4).toString('hex')}`;
        if (n.type === 'veth') {
          await this.runner.run('ip', ['link', 'add', 'dev', n.hostName as string, 'type', 'veth', 'peer', 'name', tmp], { timeoutMs: 30_000 });
          if (n.link) await this.runner.run('ip', ['link', 'set', 'dev', n.hostName as string, 'master', n.link], { timeoutMs: 30_000 });
          await this.runner.run('ip', ['link', 'set', 'dev', n.hostName as string, 'up'], { timeoutMs: 30_000 });
        } else {
          await this.runner.run('ip', ['link', 'add', 'dev', tmp, 'link', n.link as string, 'type', 'macvlan', 'mode', 'bridge'], { timeoutMs: 30_000 });
        }
        await this.runner.run('ip', ['link', 'set', 'dev', tmp, 'netns', String(pid)], { timeoutMs: 30_000 });
        await inside(['link', 'set', 'dev', tmp, 'name', n.name]);
        await inside(['link', 'set', 'dev', n.name, 'address', n.hwaddr]);
        if (n.mtu !== null) await inside(['link', 'set', 'dev', n.name, 'mtu', String(n.mtu)]);
        await inside(['link', 'set', 'dev', n.name, 'up']);
        for (const [k, v] of Object.entries(resolved.volatile)) if (k.startsWith(`volatile.${n.device}.`)) volatile[k] = v;
        this.log.info(`Added NIC ${n.name} (${n.device}) to running container ${spec.lxcName}`);
      }
      return volatile;
    });
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
    return this.stateOf(await this.info(lxcName));
  }

  async activeStates(): Promise<Record<string, AgentInstanceState | null>> {
    await this.adopt();
    const names = configuredContainers(this.paths.lxcPath).filter((n) => LXC_NAME.test(n));
    // Half of a long list to the state worker (another core), half read here meanwhile.
    const here = names.length >= 4 && this.stateWorker.usable ? Math.ceil(names.length / 2) : names.length;
    const away = names.slice(here);
    const fromWorker = away.length ? this.stateWorker.read(this.paths.lxcPath, away) : Promise.resolve({});
    const fast: Record<string, FastActive> = {};
    for (const n of names.slice(0, here)) fast[n] = fastActive(this.paths.lxcPath, n, this.hostLinks);
    Object.assign(fast, await fromWorker.catch(() => Object.fromEntries(away.map((n) => [n, { kind: 'slow' } as const]))));
    const out: Record<string, AgentInstanceState | null> = {};
    for (const n of names) {
      const f = fast[n];
      if (f?.kind === 'state') out[n] = f.state;
      else if (f?.kind !== 'stopped') {
        // lxc-info or `ip` needed (starting, stopping, an interface only `ip` can tell), or a read failed.
        try {
          const info = fastInfo(this.paths.lxcPath, n) ?? (await this.lxcInfo(n));
          if (info.state !== 'STOPPED') out[n] = await this.stateOf(info);
        } catch {
          out[n] = null;
        }
      }
    }
    return out;
  }

  private async stateOf(info: LxcInfo): Promise<AgentInstanceState> {
    // From /proc and the container's sysfs; `ip` (two spawns) only when those can't tell for certain.
    return fastState(info, this.hostLinks) ?? withUsage(info, await readNetwork(this.runner, info.pid));
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
