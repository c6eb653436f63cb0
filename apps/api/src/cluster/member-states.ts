// Instance states held by other members: each member's agent knows only its own containers, so a list through one
// member asks every member holding some of the listed instances for their states (one request per member).
import type { AgentInstanceState } from '@lxdts/api-types';
import type { ClusterRuntime } from './cluster-runtime.js';
import { memberRequest } from './member-client.js';

export const INSTANCE_STATES_PATH = '/internal/cluster/instance-states';

/** States by lxcName from the member at `address`; null per instance when that member cannot be asked. */
export async function remoteInstanceStates(runtime: ClusterRuntime, address: string, lxcNames: string[]): Promise<Record<string, AgentInstanceState | null>> {
  const tls = runtime.tls;
  if (!tls) return Object.fromEntries(lxcNames.map((n) => [n, null]));
  try {
    const r = await memberRequest<{ states: Record<string, AgentInstanceState | null> }>(address, 'POST', INSTANCE_STATES_PATH, { lxcNames }, { pinned: tls.cert, cert: tls.cert, key: tls.key }, 5_000);
    return r.states;
  } catch {
    return Object.fromEntries(lxcNames.map((n) => [n, null]));
  }
}
