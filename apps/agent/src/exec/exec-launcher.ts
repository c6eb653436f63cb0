// Where a streamed exec's process comes from. The real one attaches to a liblxc container (lxdts-attach when it is
// built and usable, else lxc-attach); tests run local commands.
import { join } from 'node:path';
import type { AgentExecStart } from '@lxdts/api-types';
import { badRequest, conflict } from '../errors.js';
import { readInitRecord } from '../runtime/container-process.js';
import { type ExecLaunch, buildAttachLaunch, buildHelperLaunch } from './attach-command.js';
import { DEFAULT_HELPER_PATH, helperUsable, readAttachConfig } from './attach-helper.js';
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
  /**
   * The lxdts-attach binary (default: $LXDTS_ATTACH_HELPER, else apps/agent/native/build/lxdts-attach); null, or
   * LXDTS_ATTACH_HELPER=off: always lxc-attach.
   */
  helper?: string | null;
}

function defaultHelper(): string | null {
  const fromEnv = process.env['LXDTS_ATTACH_HELPER'];
  if (fromEnv === 'off') return null;
  return fromEnv || DEFAULT_HELPER_PATH;
}

const LXC_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

export class LxcExecLauncher implements ExecLauncher {
  private readonly helper: string | null;

  constructor(private readonly options: LxcExecLauncherOptions) {
    this.helper = options.helper === undefined ? defaultHelper() : options.helper;
  }

  async prepare(lxcName: string, start: AgentExecStart): Promise<ExecLaunch> {
    if (!LXC_NAME.test(lxcName)) throw badRequest(`Invalid container name "${lxcName}"`);
    const state = await this.options.state(lxcName);
    if (state === 'FROZEN') throw conflict('Instance is frozen');
    if (state !== 'RUNNING') throw conflict('Instance is not running');
    return this.helperLaunch(lxcName, start) ?? buildAttachLaunch({ lxcPath: this.options.lxcPath, lxcName, start });
  }

  /**
   * lxdts-attach, given the init the runtime recorded for the state just read (`init.pid`, written at start or by
   * lxc-info; the helper checks its start time) and the config liblxc runs the container with. Null: lxc-attach.
   */
  private helperLaunch(lxcName: string, start: AgentExecStart): ExecLaunch | null {
    if (this.helper === null || !helperUsable(this.helper)) return null;
    const dir = join(this.options.lxcPath, lxcName);
    const init = readInitRecord(join(dir, 'init.pid'));
    const config = readAttachConfig(join(dir, 'config'));
    if (!init || !config || config.unsupported !== null) return null;
    return buildHelperLaunch({ helper: this.helper, lxcName, init, configEnv: config.env, rlimits: config.rlimits, start });
  }

  // The command is forked into the container's pid namespace; liblxc's intermediate process is not (nor
  // lxdts-attach's: the command is a CLONE_PARENT child of the spawned process in both).
  isCommand = (pid: number, parent: number): boolean => inOtherPidNamespace(pid, parent);
}
