// What exec, files, console and logs need to reach a running instance, resolved by the instances service.
import type { Identity } from '../auth/identity.js';

export interface InstanceTarget {
  name: string;
  project: string;
  /** liblxc container name: `<project>_<name>` outside the default project. */
  lxcName: string;
  /** Absolute path of the instance's root file system on the host. */
  rootfsPath: string;
  /** LXD status string (Running, Stopped, Frozen...). */
  status: string;
  /** Host uid/gid that container root maps to; 0 when privileged. */
  uidBase: number;
  gidBase: number;
  /** Expanded config (profiles applied), for environment.* and the like. */
  expandedConfig: Record<string, string>;
}

/** Implemented by InstancesService; injected into exec/files/console routes under this token. */
export interface InstanceTargetResolver {
  /** Throws 404 "Instance not found" when the instance does not exist in that project. */
  resolve(project: string, name: string): Promise<InstanceTarget>;
  /** URL of the instance, for operation resources and events. */
  url(project: string, name: string): string;
  /** Emits an instance lifecycle event (`instance-exec`, `instance-file-pushed`, ...). */
  lifecycle(action: string, project: string, name: string, identity: Identity, context?: Record<string, unknown>): void;
}

export const INSTANCE_TARGETS = Symbol('lxdts.instance-targets');
