// A container's state from /proc, sysfs and its cgroups alone (no process spawned, no await): what LxcRuntime uses
// for each state, and what the state worker (state-worker.ts) runs for part of a long `lxc list`. Null whenever
// only liblxc (`lxc-info`) or `ip` can tell; the caller then takes the slow path.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { AgentInstanceState } from '@lxdts/api-types';
import { checkInit, freezerState, isMonitor, readInitRecord, readPidFile, removeFile } from './container-process.js';
import { readUsage, readUsageFrom } from './instance-state.reader.js';
import { isActive, lxdStatus } from './lxc-status.js';
import { type HostLinks, readNetworkFromProc } from './proc-net.js';

export interface LxcInfo {
  state: string;
  pid: number;
  /** The container's payload cgroup directories, when the state was read from /proc. */
  cgroups?: ReadonlyMap<string, string>;
}

/** `<lxcpath>/<name>/init.pid`: the init the agent saw at start (container-process.ts). */
export const initFile = (lxcPath: string, lxcName: string): string => join(lxcPath, lxcName, 'init.pid');
/** `<lxcpath>/<name>/monitor.pid`: written by liblxc's monitor (`lxc-start -p`), removed when it exits. */
export const monitorFile = (lxcPath: string, lxcName: string): string => join(lxcPath, lxcName, 'monitor.pid');

/** The state from /proc and the cgroup files; null when only liblxc can tell. */
export function fastInfo(lxcPath: string, lxcName: string): LxcInfo | null {
  const record = readInitRecord(initFile(lxcPath, lxcName));
  if (record) {
    const init = checkInit(record, lxcName);
    if (init.alive && init.cgroups) {
      const freezer = freezerState(init.cgroups);
      return { state: freezer === 'THAWED' ? 'RUNNING' : freezer, pid: record.pid, cgroups: init.cgroups };
    }
  }
  const monitor = readPidFile(monitorFile(lxcPath, lxcName));
  if (monitor !== null && isMonitor(monitor, lxcPath, lxcName)) return null;
  // No monitor: the container is down. (A monitor killed outright leaves its pid file behind.)
  if (record) removeFile(initFile(lxcPath, lxcName));
  if (monitor !== null && !existsSync(`/proc/${monitor}`)) removeFile(monitorFile(lxcPath, lxcName));
  return { state: 'STOPPED', pid: 0 };
}

/** LXD's state of a container not running (or with no init to read). */
export function idleState(info: LxcInfo): AgentInstanceState {
  return {
    ...lxdStatus(info.state),
    disk: {},
    memory: { usage: 0, usage_peak: 0, swap_usage: 0, swap_usage_peak: 0 },
    network: null,
    pid: 0,
    processes: 0,
    cpu: { usage: 0 },
  };
}

/** The full state of a container whose info was just read; null when its network needs `ip` to be told. */
export function fastState(info: LxcInfo, hostLinks: HostLinks): AgentInstanceState | null {
  if (!isActive(info.state) || info.pid === 0) return idleState(info);
  const network = readNetworkFromProc(info.pid, hostLinks);
  if (network === null) return null;
  return withUsage(info, network);
}

/** The state with the cgroup counters read now and `network` as given. */
export function withUsage(info: LxcInfo, network: AgentInstanceState['network']): AgentInstanceState {
  const usage = info.cgroups ? readUsageFrom(info.cgroups) : readUsage(info.pid);
  return { ...lxdStatus(info.state), disk: {}, memory: usage.memory, network, pid: info.pid, processes: usage.processes, cpu: usage.cpu };
}

/** What the fast path made of one container for a list of active states. */
export type FastActive = { kind: 'stopped' } | { kind: 'state'; state: AgentInstanceState } | { kind: 'slow' };

/** One container for activeStates: stopped, its state, or `slow` (lxc-info or `ip` needed, or a read failed). */
export function fastActive(lxcPath: string, lxcName: string, hostLinks: HostLinks): FastActive {
  try {
    const info = fastInfo(lxcPath, lxcName);
    if (!info) return { kind: 'slow' };
    if (info.state === 'STOPPED') return { kind: 'stopped' };
    const state = fastState(info, hostLinks);
    return state ? { kind: 'state', state } : { kind: 'slow' };
  } catch {
    return { kind: 'slow' };
  }
}
