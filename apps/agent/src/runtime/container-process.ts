// A running container's processes, found without asking liblxc (no lxc-info spawn): the init pid the agent records
// at each start (`<lxcpath>/<name>/init.pid`), checked against /proc before it is believed, and the monitor pid
// liblxc itself writes (`lxc-start -p <lxcpath>/<name>/monitor.pid`, removed by the monitor when the container
// stops). Anything this cannot decide (a monitor alive without a live init: starting, stopping, rebooting) is left
// to lxc-info by the runtime.
import { existsSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** `init.pid`: the container's init as the host sees it, and its start time (pid reuse can't fool the check). */
export interface InitRecord {
  pid: number;
  /** Field 22 of /proc/<pid>/stat (clock ticks since boot). */
  startTime: string;
}

export type FreezerState = 'FROZEN' | 'FREEZING' | 'THAWED';

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** `init.pid` text: `<pid> <starttime>\n`. */
export function formatInitRecord(r: InitRecord): string {
  return `${r.pid} ${r.startTime}\n`;
}

export function parseInitRecord(text: string): InitRecord | null {
  const m = /^(\d+) (\d+)\s*$/.exec(text);
  if (!m) return null;
  const pid = Number(m[1]);
  return pid > 1 ? { pid, startTime: m[2] as string } : null;
}

/** State letter and start time from /proc/<pid>/stat (the command name may hold spaces and parentheses). */
export function parseProcStat(text: string): { state: string; ppid: number; startTime: string } | null {
  const close = text.lastIndexOf(')');
  if (close < 0) return null;
  const fields = text.slice(close + 2).trim().split(' ');
  // fields[0] is field 3 (state); field 22 (starttime) is fields[19].
  const state = fields[0];
  const startTime = fields[19];
  if (!state || !startTime || !/^\d+$/.test(startTime)) return null;
  return { state, ppid: Number(fields[1]), startTime };
}

/** The last NSpid of /proc/<pid>/status: the pid in the innermost pid namespace (1 for a container's init). */
export function innermostPid(statusText: string): number | null {
  const line = /^NSpid:\s*(.*)$/m.exec(statusText)?.[1];
  if (!line) return null;
  const pids = line.trim().split(/\s+/);
  return Number(pids[pids.length - 1]);
}

/**
 * The container's payload cgroup directory in each hierarchy of /proc/<pid>/cgroup (`…/lxc.payload.<name>`; liblxc
 * appends `-<n>` when another lxcpath already holds a container of that name), keyed as parseProcCgroup keys them
 * (controller, or `unified`). Null when the process is in no such cgroup, i.e. it is not that container's. A
 * process in a sub-cgroup (systemd's init.scope) still maps to the container's own directory.
 */
export function payloadCgroups(cgroupText: string, lxcName: string, root = '/sys/fs/cgroup', pureV2 = false): Map<string, string> | null {
  const segment = new RegExp(`^lxc\\.payload\\.${escapeRegExp(lxcName)}(-\\d+)?$`);
  const out = new Map<string, string>();
  for (const line of cgroupText.split('\n')) {
    const m = /^(\d+):([^:]*):(.*)$/.exec(line.trim());
    if (!m) continue;
    const parts = (m[3] ?? '').split('/');
    const at = parts.findIndex((p) => segment.test(p));
    if (at < 0) continue;
    const path = parts.slice(0, at + 1).join('/');
    const controllers = m[2] ?? '';
    if (m[1] === '0' && controllers === '') {
      out.set('unified', join(pureV2 ? root : join(root, 'unified'), path));
      continue;
    }
    const mount = controllers.startsWith('name=') ? controllers.slice(5) : controllers;
    for (const c of controllers.split(',')) out.set(c, join(root, mount, path));
  }
  return out.size > 0 ? out : null;
}

const readText = (file: string): string | null => {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return null;
  }
};

/** Whether cgroup v2 alone is mounted (no v1 hierarchies). */
export const PURE_CGROUP_V2 = existsSync('/sys/fs/cgroup/cgroup.controllers');

/**
 * What /proc says about a recorded init: alive and the container's (with its payload cgroup directories), or not.
 */
export function checkInit(record: InitRecord, lxcName: string, proc = '/proc'): { alive: boolean; cgroups: Map<string, string> | null } {
  const dead = { alive: false, cgroups: null };
  const stat = readText(`${proc}/${record.pid}/stat`);
  const parsed = stat ? parseProcStat(stat) : null;
  // A zombie (Z) or dead (X) init is a container on its way down: not running.
  if (!parsed || parsed.startTime !== record.startTime || parsed.state === 'Z' || parsed.state === 'X') return dead;
  const status = readText(`${proc}/${record.pid}/status`);
  if (!status || innermostPid(status) !== 1) return dead;
  const cgroupText = readText(`${proc}/${record.pid}/cgroup`);
  const cgroups = cgroupText ? payloadCgroups(cgroupText, lxcName, '/sys/fs/cgroup', PURE_CGROUP_V2) : null;
  if (!cgroups) return dead;
  return { alive: true, cgroups };
}

/** The freezer state of the container's payload cgroup (v1 freezer.state, v2 cgroup.freeze/cgroup.events). */
export function freezerState(cgroups: ReadonlyMap<string, string>): FreezerState {
  const v1 = cgroups.get('freezer');
  if (v1 !== undefined) {
    const s = readText(join(v1, 'freezer.state'))?.trim();
    return s === 'FROZEN' || s === 'FREEZING' ? s : 'THAWED';
  }
  const unified = cgroups.get('unified');
  if (unified === undefined) return 'THAWED';
  if (readText(join(unified, 'cgroup.freeze'))?.trim() !== '1') return 'THAWED';
  return /^frozen 1$/m.test(readText(join(unified, 'cgroup.events')) ?? '') ? 'FROZEN' : 'FREEZING';
}

/** The init of a container whose monitor is `monitorPid`: the monitor's child that is pid 1 in its namespace. */
export function findInit(monitorPid: number, lxcName: string, proc = '/proc'): InitRecord | null {
  const children = readText(`${proc}/${monitorPid}/task/${monitorPid}/children`);
  for (const c of (children ?? '').trim().split(/\s+/).filter(Boolean)) {
    const pid = Number(c);
    const stat = readText(`${proc}/${pid}/stat`);
    const parsed = stat ? parseProcStat(stat) : null;
    if (!parsed) continue;
    const record = { pid, startTime: parsed.startTime };
    if (checkInit(record, lxcName, proc).alive) return record;
  }
  return null;
}

/** The start time of a live (non-zombie) process, for an init found by lxc-info. */
export function processStartTime(pid: number, proc = '/proc'): string | null {
  const stat = readText(`${proc}/${pid}/stat`);
  const parsed = stat ? parseProcStat(stat) : null;
  return parsed && parsed.state !== 'Z' && parsed.state !== 'X' ? parsed.startTime : null;
}

/**
 * Whether `pid` (from the container's monitor.pid) is still a liblxc monitor of this container: its title is
 * `[lxc monitor] <lxcpath> <name>` (the lxcpath as liblxc was given it; only the pid file says which lxcpath).
 */
export function isMonitor(pid: number, lxcPath: string, lxcName: string, proc = '/proc'): boolean {
  const cmdline = readText(`${proc}/${pid}/cmdline`);
  if (cmdline === null) return false;
  const title = cmdline.replace(/\0+$/, '');
  return title === `[lxc monitor] ${lxcPath} ${lxcName}` || (title.startsWith('[lxc monitor] ') && title.endsWith(` ${lxcName}`));
}

export function readPidFile(file: string): number | null {
  const text = readText(file);
  if (text === null) return null;
  const n = Number(text.trim());
  return Number.isInteger(n) && n > 1 ? n : null;
}

export function readInitRecord(file: string): InitRecord | null {
  const text = readText(file);
  return text === null ? null : parseInitRecord(text);
}

export function writeInitRecord(file: string, record: InitRecord): void {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, formatInitRecord(record), { mode: 0o600 });
  renameSync(tmp, file);
}

export function removeFile(file: string): void {
  rmSync(file, { force: true });
}

/** Names of the directories under the lxcpath that hold a liblxc config. */
export function configuredContainers(lxcPath: string): string[] {
  let entries: string[];
  try {
    entries = readdirSync(lxcPath);
  } catch {
    return [];
  }
  return entries.filter((n) => existsSync(join(lxcPath, n, 'config')));
}
