// The state worker's thread (see state-worker.ts): fast-path states of the containers it is sent, from another
// core than the agent's event loop.
import { parentPort } from 'node:worker_threads';
import { type FastActive, fastActive } from './fast-state.js';
import { HostLinks } from './proc-net.js';

const hostLinks = new HostLinks();
parentPort?.on('message', (m: { id: number; lxcPath: string; names: string[] }) => {
  const results: Record<string, FastActive> = {};
  for (const n of m.names) results[n] = fastActive(m.lxcPath, n, hostLinks);
  parentPort?.postMessage({ id: m.id, results });
});
