// Numeric codes of dqlite's wire protocol, version 1 (dqlite 1.11; see shared/reference/dqlite.md §3).

/** Sent as the first 8 bytes of every connection (little endian). */
export const PROTOCOL_VERSION = 1n;

export const RequestType = {
  Leader: 0,
  Client: 1,
  Open: 3,
  Prepare: 4,
  Exec: 5,
  Query: 6,
  Finalize: 7,
  ExecSql: 8,
  QuerySql: 9,
  Interrupt: 10,
  Add: 12,
  Assign: 13,
  Remove: 14,
  Dump: 15,
  Cluster: 16,
  Transfer: 17,
  Describe: 18,
  Weight: 19,
} as const;
export type RequestType = (typeof RequestType)[keyof typeof RequestType];

export const ResponseType = {
  Failure: 0,
  Server: 1,
  Welcome: 2,
  Servers: 3,
  Db: 4,
  Stmt: 5,
  Result: 6,
  Rows: 7,
  Empty: 8,
  Files: 9,
  Metadata: 10,
} as const;
export type ResponseType = (typeof ResponseType)[keyof typeof ResponseType];

/** Value type codes inside parameter tuples and rows. */
export const ValueType = {
  Integer: 1,
  Float: 2,
  Text: 3,
  Blob: 4,
  Null: 5,
  /** Row values only: a DATETIME/DATE/TIMESTAMP column stored as an integer (seconds). Rejected as a parameter. */
  UnixTime: 9,
  /** A DATETIME/DATE/TIMESTAMP column stored as text; accepted as a parameter (bound as text). */
  Iso8601: 10,
  /** A BOOLEAN column (stored as 0/1); accepted as a parameter (bound as an integer). */
  Boolean: 11,
} as const;

/** Node roles as the wire numbers them (raft's own numbering differs; the server translates). */
export const NodeRole = { Voter: 0, StandBy: 1, Spare: 2 } as const;
export type NodeRole = (typeof NodeRole)[keyof typeof NodeRole];

export function roleName(role: number): 'voter' | 'stand-by' | 'spare' | 'unknown' {
  return role === NodeRole.Voter ? 'voter' : role === NodeRole.StandBy ? 'stand-by' : role === NodeRole.Spare ? 'spare' : 'unknown';
}

/** SQLite result codes the client reacts to. */
export const SqliteCode = {
  Error: 1,
  Busy: 5,
  Constraint: 19,
  Range: 25,
  /** SQLITE_IOERR_NOT_LEADER: a follower refused, or leadership moved. The request was not applied. */
  NotLeader: 10250,
  /** SQLITE_IOERR_LEADERSHIP_LOST: leadership lost while replicating; the commit's outcome is unknown. */
  LeadershipLost: 10506,
} as const;

/** End-of-result markers after the last row of a ROWS batch. */
export const ROWS_DONE_BYTE = 0xff;
export const ROWS_PART_BYTE = 0xee;
