// Assembles one agent: process runner, host facts, idmap, the lxc runtime, the storage drivers, managed networks,
// the HTTP server.
import { join } from 'node:path';
import type { AgentReady } from '@lxdts/api-types';
import { ConsoleStreamServer } from '../console/console-stream.server.js';
import { LxcConsoleLauncher } from '../console/console-launcher.js';
import { fileRoutes } from '../files/files.routes.js';
import { ExecStreamServer } from '../exec/exec-stream.server.js';
import { LxcExecLauncher } from '../exec/exec-launcher.js';
import { type HostIdmap, defaultIdmap, readHostIdmap } from '../idmap/subid.js';
import { type AgentLogger, silentLogger } from '../log.js';
import { agentPaths } from '../paths.js';
import { type ProcessRunner, createProcessRunner } from '../process/run.js';
import type { ContainerRuntime } from '../runtime/container-runtime.js';
import { readHostFacts } from '../runtime/host-facts.js';
import { InstanceLogs } from '../runtime/instance-logs.js';
import { LxcRuntime } from '../runtime/lxc.runtime.js';
import { BridgeNetworks } from '../network/bridge-networks.js';
import { networkRoutes } from '../network/network.routes.js';
import { BtrfsStorage } from '../storage/btrfs.storage.js';
import { DirStorage } from '../storage/dir.storage.js';
import type { StorageDriver } from '../storage/storage-driver.js';
import { type AgentHttpServer, listenAgentHttp } from './http-server.js';
import { agentRoutes } from './routes.js';

export interface AgentServerOptions {
  socketPath: string;
  /** The daemon's $LXD_DIR. */
  varDir: string;
  log?: AgentLogger;
  /** lxc.log.level of the containers (default warn). */
  lxcLogLevel?: string;
  /** Add `root:1000000:1000000000` to /etc/subuid and /etc/subgid when root has no range (the agent's main does). */
  ensureSubIds?: boolean;
  subidFiles?: { subuid: string; subgid: string };
}

export interface RunningAgent {
  readonly socketPath: string;
  readonly runtime: ContainerRuntime;
  readonly storage: Readonly<Record<string, StorageDriver>>;
  readonly hostIdmap: HostIdmap | null;
  close(graceMs?: number): Promise<void>;
}

export async function startAgentServer(options: AgentServerOptions): Promise<RunningAgent> {
  const log = options.log ?? silentLogger;
  const paths = agentPaths(options.varDir);
  const runner: ProcessRunner = createProcessRunner(log);
  const host = readHostFacts();
  const hostIdmap = readHostIdmap(options.subidFiles ?? { subuid: '/etc/subuid', subgid: '/etc/subgid' }, options.ensureSubIds ?? false);
  if (!hostIdmap) log.warn('root has no range in /etc/subuid or /etc/subgid: only privileged containers can start');
  const version = await runner.tryRun('lxc-start', ['--version'], { timeoutMs: 10_000 });
  if (version.exitCode !== 0) log.warn('lxc-start is missing: containers cannot start (install the lxc package)');

  const runtime = new LxcRuntime({ paths, runner, log, host, lxcLogLevel: options.lxcLogLevel });
  const storage: Record<string, StorageDriver> = { dir: new DirStorage(runner, log), btrfs: new BtrfsStorage(runner, log) };
  const ready: AgentReady = {
    ready: true,
    pid: process.pid,
    lxcVersion: version.exitCode === 0 ? version.stdout.trim() : '',
    lxcPath: paths.lxcPath,
    hostIdmap,
    defaultIdmap: hostIdmap ? defaultIdmap(hostIdmap.uid, hostIdmap.gid) : null,
    cgroupLayout: host.cgroupLayout,
  };
  const logs = new InstanceLogs(paths.logsDir);
  const networks = new BridgeNetworks(runner, log, join(options.varDir, 'networks'));
  const routes = [...agentRoutes({ runtime, logs, storage, runner, networks, ready: () => ready }), ...fileRoutes(), ...networkRoutes(networks)];
  const exec = new ExecStreamServer({
    runner,
    log,
    launcher: new LxcExecLauncher({ lxcPath: paths.lxcPath, state: async (n) => (await runtime.info(n)).state }),
  });
  const consoles = new ConsoleStreamServer({
    runner,
    log,
    launcher: new LxcConsoleLauncher({ lxcPath: paths.lxcPath, info: (n) => runtime.info(n) }),
  });
  const http: AgentHttpServer = await listenAgentHttp(
    options.socketPath,
    routes,
    log,
    (req, socket, head) => exec.handleUpgrade(req, socket, head) || consoles.handleUpgrade(req, socket, head),
  );
  return {
    socketPath: options.socketPath,
    runtime,
    storage,
    hostIdmap,
    close: (graceMs) => {
      exec.close();
      consoles.close();
      return http.close(graceMs);
    },
  };
}
