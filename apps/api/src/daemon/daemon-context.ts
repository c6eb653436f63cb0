import type { Store } from '@lxdts/raft-store';
import type { AgentClient } from '../agent/agent.client.js';
import type { ClusterRuntime } from '../cluster/cluster-runtime.js';
import type { DaemonOptions } from './daemon-options.js';
import type { DaemonPaths } from './paths.js';

/** What exists before the Nest container: opened store, paths, flags. */
export interface DaemonContext {
  store: Store;
  paths: DaemonPaths;
  options: DaemonOptions;
  /** Client of this host's agent (containers, storage). */
  agent: AgentClient;
  /** Whether and how this daemon is clustered (standalone until `lxc cluster enable` or a join). */
  cluster: ClusterRuntime;
}
