// Where a console session's process comes from. The real one attaches to a liblxc container's console; tests run
// local programs on the same kind of terminal.
import { readFileSync } from 'node:fs';
import type { AgentConsoleStart } from '@lxdts/api-types';
import { badRequest, conflict } from '../errors.js';
import { type ConsoleLaunch, buildConsoleLaunch } from './console-command.js';

export interface ConsoleLauncher {
  /** Checks the container and returns what to spawn; throws AgentError (`conflict` when it is not running). */
  prepare(lxcName: string, start: AgentConsoleStart): Promise<ConsoleLaunch>;
}

export interface LxcConsoleLauncherOptions {
  lxcPath: string;
  /** liblxc state (`RUNNING`, `FROZEN`, `STOPPED`, ...) and host pid of the container's init. */
  info(lxcName: string): Promise<{ state: string; pid: number }>;
}

const LXC_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

/** The parent of the container's init when it is that container's liblxc monitor (`[lxc monitor] LXCPATH NAME`). */
export function monitorOf(initPid: number, lxcPath: string, lxcName: string): number {
  try {
    const stat = readFileSync(`/proc/${initPid}/stat`, 'utf8');
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    return isMonitor(ppid, lxcPath, lxcName) ? ppid : 0;
  } catch {
    return 0;
  }
}

function isMonitor(pid: number, lxcPath: string, lxcName: string): boolean {
  if (!(pid > 1)) return false;
  try {
    // liblxc rewrites its title as one string.
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0+$/, '') === `[lxc monitor] ${lxcPath} ${lxcName}`;
  } catch {
    return false;
  }
}

export class LxcConsoleLauncher implements ConsoleLauncher {
  constructor(private readonly options: LxcConsoleLauncherOptions) {}

  async prepare(lxcName: string, start: AgentConsoleStart): Promise<ConsoleLaunch> {
    if (!LXC_NAME.test(lxcName)) throw badRequest(`Invalid container name "${lxcName}"`);
    const { state, pid } = await this.options.info(lxcName);
    if (state === 'FROZEN') throw conflict('Instance is frozen');
    if (state !== 'RUNNING') throw conflict('Instance is not running');
    const lxcPath = this.options.lxcPath;
    const monitor = monitorOf(pid, lxcPath, lxcName);
    const launch = buildConsoleLaunch({ lxcPath, lxcName, width: start.width, height: start.height });
    if (monitor === 0) return launch;
    return {
      ...launch,
      windowChanged: () => {
        // Checked again: once the container has stopped, the pid may be another process's.
        if (!isMonitor(monitor, lxcPath, lxcName)) return;
        try {
          process.kill(monitor, 'SIGWINCH');
        } catch {
          // Gone meanwhile.
        }
      },
    };
  }
}
