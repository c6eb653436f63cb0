// This daemon's member of the cluster: row id in `nodes` (1 standalone, where it is the only row) and name (`none`
// standalone, as LXD). One daemon per process, so one value per process: ClusterRuntime updates it when the daemon
// bootstraps, joins or starts clustered; repositories read it whenever they store or select per-member rows.
export interface LocalMember {
  nodeId: number;
  name: string;
}

export const localMember: LocalMember = { nodeId: 1, name: 'none' };
