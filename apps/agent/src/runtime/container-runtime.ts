// What the agent's routes need from a container runtime. One driver per file: lxc.runtime.ts (liblxc tools).
import type {
  AgentExecRequest,
  AgentInstanceSpec,
  AgentInstanceState,
  AgentInstanceSummary,
  AgentStartResult,
  AgentStopRequest,
} from '@lxdts/api-types';
import type { SpawnedProcess } from '../process/run.js';

/** A command running inside a container; its streams belong to the caller (websocket exec builds on this). */
export type ContainerCommand = SpawnedProcess;

/** What to run: the exec request without the buffered-only fields (stdin is the command's own stream). */
export type ExecOptions = Omit<AgentExecRequest, 'stdin'>;

export interface ContainerRuntime {
  /** Every container the runtime knows (configured or running), for the API's reconcile at start. */
  list(): Promise<AgentInstanceSummary[]>;
  /** Writes the config from the spec and starts the container; resolves once it runs. */
  start(spec: AgentInstanceSpec): Promise<AgentStartResult>;
  stop(lxcName: string, request: AgentStopRequest): Promise<void>;
  /** One container's status and init pid (from /proc, no process spawned in the usual cases). */
  summary(lxcName: string): Promise<AgentInstanceSummary>;
  freeze(lxcName: string): Promise<void>;
  /** Resolves the devices against this host as a start would; throws the start's 400 when one cannot be set up. */
  checkDevices(spec: AgentInstanceSpec): void;
  /**
   * Disk hot-plug into a running container: unmounts `remove` (container paths), then mounts the spec's disk devices
   * named in `add` (as a start would mount them).
   */
  hotplugDisks(spec: AgentInstanceSpec, change: { add: string[]; remove: string[] }): Promise<void>;
  /**
   * NIC hot-plug into a running container: removes the NICs in `remove` (their name in the container and veth host
   * side), then adds the spec's NICs named in `add`; returns the volatile values chosen (MAC, names).
   */
  hotplugNics(spec: AgentInstanceSpec, change: { add: string[]; remove: { name: string; hostName: string }[] }): Promise<Record<string, string>>;
  /** Applies `limits.*` keys to a running container's cgroups (`lxc.cgroup.*` equivalents). */
  applyLimits(lxcName: string, config: Record<string, string>): Promise<void>;
  unfreeze(lxcName: string): Promise<void>;
  /** LXD's InstanceState; a container the runtime never saw is Stopped. */
  state(lxcName: string): Promise<AgentInstanceState>;
  /** The state of every container that is not stopped (null: could not be read), by lxcName. */
  activeStates(): Promise<Record<string, AgentInstanceState | null>>;
  /** Starts a command in a running container (not a pty; stdin, stdout and stderr are pipes). */
  exec(lxcName: string, request: ExecOptions): Promise<ContainerCommand>;
  /** Moves the runtime's files of a stopped container (config, logs, seccomp policy) to a new name. */
  rename(lxcName: string, newLxcName: string): Promise<void>;
  /** Removes the runtime's files of a stopped container; its volume belongs to the storage driver. */
  delete(lxcName: string): Promise<void>;
}
