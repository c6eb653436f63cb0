// /1.0/cluster (rest-api.yaml definitions Cluster*, extensions clustering, clustering_join_token, clustering_roles).

export interface ClusterMemberConfigKey {
  entity: string;
  name: string;
  key: string;
  value: string;
  description: string;
}

export interface Cluster {
  server_name: string;
  enabled: boolean;
  member_config: ClusterMemberConfigKey[];
}

/** PUT /1.0/cluster: enable (bootstrap) or join. */
export interface ClusterPut {
  server_name: string;
  enabled: boolean;
  member_config: ClusterMemberConfigKey[];
  cluster_address: string;
  cluster_certificate: string;
  server_address: string;
  /** The join token's secret. */
  cluster_password: string;
}

export interface ClusterMemberPut {
  roles: string[];
  failure_domain: string;
  description: string;
  config: Record<string, string>;
  groups: string[];
}

export interface ClusterMember extends ClusterMemberPut {
  server_name: string;
  url: string;
  database: boolean;
  status: string;
  message: string;
  architecture: string;
}

/** What `lxc cluster add` prints, base64-encoded JSON. */
export interface ClusterMemberJoinToken {
  server_name: string;
  fingerprint: string;
  addresses: string[];
  secret: string;
  expires_at: string;
}

// ---- between members (/internal/cluster/*) ----

/** POST /internal/cluster/accept: a joining server, authenticated by its token's secret. */
export interface ClusterAcceptRequest {
  server_name: string;
  address: string;
  secret: string;
  architecture: string;
}

export interface RaftNode {
  id: number;
  address: string;
  /** dqlite wire role: 0 voter, 1 stand-by, 2 spare. */
  role: number;
  name: string;
}

export interface ClusterAcceptResponse {
  node_id: number;
  cluster_certificate: string;
  cluster_key: string;
  raft_nodes: RaftNode[];
}

/** POST /internal/cluster/raft-add: the accepted member asks to be added to raft once its node runs. */
export interface ClusterRaftAddRequest {
  node_id: number;
  address: string;
}

/** POST /internal/cluster/heartbeat: the leader to every member. */
export interface ClusterHeartbeat {
  raft_nodes: RaftNode[];
}
