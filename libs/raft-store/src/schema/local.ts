// Tables of the node-local database (never replicated): this member's own config and its view of the raft members.

export interface LocalConfigTable {
  key: string;
  value: string;
}

export interface RaftNodesTable {
  id: number;
  address: string;
  /** 0 voter, 1 stand-by, 2 spare (dqlite roles). */
  role: number;
  name: string;
}

export interface LocalDatabase {
  local_config: LocalConfigTable;
  raft_nodes: RaftNodesTable;
}
