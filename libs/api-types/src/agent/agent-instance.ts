// Instance endpoints. `lxcName` is liblxc's container name: `<project>_<name>` outside the default project.
import type { InstanceState } from '../instance.js';
import type { AgentIdmap } from './agent-host.js';
import type { AgentVolumeRef } from './agent-storage.js';

/** Everything the agent needs to (re)build a container's liblxc config; sent on every start. */
export interface AgentInstanceSpec {
  /** Instance name; becomes the hostname. */
  name: string;
  project: string;
  lxcName: string;
  /** Absolute path of the root file system (the volume's `rootfs/`). */
  rootfsPath: string;
  /** LXD architecture name (`x86_64`, `aarch64`, ...). */
  architecture: string;
  /** Expanded config (profiles applied), including `volatile.*` keys. */
  config: Record<string, string>;
  /**
   * Expanded devices. NICs must carry `nictype` (or `network`, read as a bridge of that name); `disk`
   * devices other than the root carry an absolute host `source` (custom volumes resolved by the API).
   */
  devices: Record<string, Record<string, string>>;
  /** null = privileged container (`security.privileged=true`): no user namespace. */
  idmap: AgentIdmap | null;
}

/** POST /instances/:lxcName/start */
export interface AgentStartRequest {
  spec: AgentInstanceSpec;
}

export interface AgentStartResult {
  pid: number;
  /**
   * Values the agent chose that the API must keep in the instance config: `volatile.<dev>.hwaddr`,
   * `volatile.<dev>.host_name` and `volatile.<dev>.name` for NICs that did not set them.
   */
  volatile: Record<string, string>;
}

/** POST /instances/:lxcName/stop */
export interface AgentStopRequest {
  /** true: kill at once (`lxc-stop -k`). */
  force: boolean;
  /** Graceful shutdown wait; -1 waits forever. On expiry: error `timeout`, the container keeps running. */
  timeoutSec: number;
}

/** GET /instances: every container under the agent's lxcpath (what runs survives agent restarts). */
export interface AgentInstanceSummary {
  lxcName: string;
  /** LXD status string: Running, Stopped, Frozen, Starting, Stopping, Freezing, Thawed, Aborting, Error. */
  status: string;
  status_code: number;
  /** Init pid on the host; 0 when not running, and always 0 in the GET /instances list (ask GET /instances/:lxcName). */
  pid: number;
}

/** GET /instances/:lxcName/state → LXD's InstanceState wire type. */
export type AgentInstanceState = InstanceState;

/**
 * POST /instance-states: the state of each container named, in one answer (`lxc list` of many instances); or, with
 * `active: true` instead of names, of every container that is not stopped (the API asks this before it has read
 * which instances it lists: absent ones are Stopped).
 */
export type AgentInstanceStatesRequest = { lxcNames: string[] } | { active: true };

export interface AgentInstanceStatesResult {
  /** By lxcName; a container the agent doesn't know is Stopped, as with GET …/state; null when it can't be read. */
  states: Record<string, AgentInstanceState | null>;
}

/** POST /instances/:lxcName/delete (stopped only) */
export interface AgentInstanceDeleteRequest {
  /** Also delete this volume (dir driver), after the container's own files: one request for `lxc delete`. */
  volume?: AgentVolumeRef;
}

/** POST /instances/:lxcName/rename (stopped only) */
export interface AgentRenameRequest {
  newLxcName: string;
}

/** POST /instances/:lxcName/exec-simple: non-interactive, output buffered. */
export interface AgentExecRequest {
  command: string[];
  /** The complete environment (the API adds PATH, HOME, USER, LANG, environment.* as LXD does). */
  env: Record<string, string>;
  /** Working directory inside the container; '' = '/'. */
  cwd: string;
  uid: number;
  gid: number;
  /** Written to the command's stdin, then closed. */
  stdin?: string;
  /** Kill the command after this long; 0 or absent = no limit. */
  timeoutSec?: number;
}

export interface AgentExecResult {
  /** The command's exit code; 127 command not found, 126 not executable, 128+N killed by signal N. */
  exitCode: number;
  stdout: string;
  stderr: string;
}
