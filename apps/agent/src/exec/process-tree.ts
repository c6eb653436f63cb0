// Finding the command under lxc-attach from /proc, to signal it as LXD does (LXD signals the attached PID:
// lxc-attach itself does not forward signals, and killing it leaves the command running).
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';

/** The children of `pid`: /proc/<pid>/task/<tid>/children (CONFIG_PROC_CHILDREN), else a scan of /proc. */
export function childPids(pid: number): number[] {
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  const out: number[] = [];
  try {
    for (const tid of tasks) {
      for (const c of readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').split(' ')) if (c.trim()) out.push(Number(c));
    }
    return out;
  } catch {
    return scanForChildren(pid);
  }
}

function scanForChildren(pid: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so read after the last ')'.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(entry));
    } catch {
      // Gone meanwhile.
    }
  }
  return out;
}

/** `pid:[4026531836]`, or null when the process is gone. */
export function pidNamespace(pid: number): string | null {
  try {
    return readlinkSync(`/proc/${pid}/ns/pid`);
  } catch {
    return null;
  }
}

/** Whether `pid` runs in another pid namespace than its parent: the attached command, not an lxc-attach helper. */
export function inOtherPidNamespace(pid: number, parentPid: number): boolean {
  const mine = pidNamespace(pid);
  const parent = pidNamespace(parentPid);
  return mine !== null && parent !== null && mine !== parent;
}

/** The terminal on a process's stdin (`/dev/pts/N`), or null. */
export function stdinTerminal(pid: number): string | null {
  try {
    const target = readlinkSync(`/proc/${pid}/fd/0`);
    return /^\/dev\/pts\/\d+$/.test(target) ? target : null;
  } catch {
    return null;
  }
}

export interface FoundCommand {
  /** The command's host pid. */
  pid: number;
  /** Its parent (lxc-attach). */
  parent: number;
}

/**
 * The process `depth` generations below `root` for which `isCommand(pid, parent)` holds (first match), or null.
 * Generation 1 of an interactive exec is the pty helper's child, which becomes lxc-attach.
 */
export function findCommand(root: number, depth: 1 | 2, isCommand: (pid: number, parent: number) => boolean): FoundCommand | null {
  const parents = depth === 1 ? [root] : childPids(root);
  for (const parent of parents) {
    for (const pid of childPids(parent)) if (isCommand(pid, parent)) return { pid, parent };
  }
  return null;
}
