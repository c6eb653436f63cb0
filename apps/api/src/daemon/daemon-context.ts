import type { Store } from '@lxdts/raft-store';
import type { AgentClient } from '../agent/agent.client.js';
import type { DaemonOptions } from './daemon-options.js';
import type { DaemonPaths } from './paths.js';

/** What exists before the Nest container: opened store, paths, flags. */
export interface DaemonContext {
  store: Store;
  paths: DaemonPaths;
  options: DaemonOptions;
  /** Client of this host's agent (containers, storage). */
  agent: AgentClient;
}
