// Where a streamed exec's process comes from. The real one attaches to a liblxc container; tests run local commands.
import type { AgentExecStart } from '@lxdts/api-types';
import { badRequest, conflict } from '../errors.js';
import { type ExecLaunch, buildAttachLaunch } from './attach-command.js';
import { inOtherPidNamespace } from './process-tree.js';

export interface ExecLauncher {
  /** Checks the container and returns what to spawn; throws AgentError (`conflict` when it is not running). */
  prepare(lxcName: string, start: AgentExecStart): Promise<ExecLaunch>;
  /** Whether `pid`, a child of `parent` (lxc-attach), is the command itself and not one of lxc-attach's helpers. */
  isCommand(pid: number, parent: number): boolean;
}

export interface LxcExecLauncherOptions {
  lxcPath: string;
  /** liblxc state of the container (`RUNNING`, `FROZEN`, `STOPPED`, ...). */
  state(lxcName: string): Promise<string>;
}

const LXC_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

export class LxcExecLauncher implements ExecLauncher {
  constructor(private readonly options: LxcExecLauncherOptions) {}

  async prepare(lxcName: string, start: AgentExecStart): Promise<ExecLaunch> {
    if (!LXC_NAME.test(lxcName)) throw badRequest(`Invalid container name "${lxcName}"`);
    const state = await this.options.state(lxcName);
    if (state === 'FROZEN') throw conflict('Instance is frozen');
    if (state !== 'RUNNING') throw conflict('Instance is not running');
    return buildAttachLaunch({ lxcPath: this.options.lxcPath, lxcName, start });
  }

  // The command is forked into the container's pid namespace; liblxc's intermediate process is not.
  isCommand = (pid: number, parent: number): boolean => inOtherPidNamespace(pid, parent);
}
