// GET /ready: what the agent found on the host at start.

/** A contiguous host id range from /etc/subuid or /etc/subgid. */
export interface AgentIdRange {
  start: number;
  size: number;
}

/** The ids an unprivileged container maps (container 0..size-1 → host base..base+size-1). */
export interface AgentIdmap {
  uidBase: number;
  gidBase: number;
  size: number;
}

export interface AgentReady {
  ready: true;
  pid: number;
  /** liblxc version (`lxc-start --version`). */
  lxcVersion: string;
  /** `<LXD_DIR>/containers`. */
  lxcPath: string;
  /** root's ranges from /etc/subuid and /etc/subgid; null when the host has none (then only privileged works). */
  hostIdmap: { uid: AgentIdRange; gid: AgentIdRange } | null;
  /** The map a container gets by default: 65536 ids from the start of root's ranges. */
  defaultIdmap: AgentIdmap | null;
  /** `v1` (legacy or hybrid hierarchy) or `v2` (unified): the cgroup keys the agent writes. */
  cgroupLayout: 'v1' | 'v2';
}
