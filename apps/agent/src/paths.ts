import { join } from 'node:path';

/** Where the agent keeps its files, all under the daemon's `$LXD_DIR`. */
export interface AgentPaths {
  varDir: string;
  /** liblxc's lxcpath: `<lxcName>/config` per container. */
  lxcPath: string;
  /** `<lxcName>/lxc.log` and `<lxcName>/console.log` per container (LXD's `logs/<name>/`). */
  logsDir: string;
  /** One seccomp policy file per container (LXD's `security/seccomp/<name>`). */
  seccompDir: string;
}

export function agentPaths(varDir: string): AgentPaths {
  return {
    varDir,
    lxcPath: join(varDir, 'containers'),
    logsDir: join(varDir, 'logs'),
    seccompDir: join(varDir, 'security', 'seccomp'),
  };
}
