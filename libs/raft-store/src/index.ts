export type { Store, Db, Tx, RawResult, StoreScope } from './store.js';
export { SqliteStore } from './sqlite/sqlite-store.js';
export { ReadCache } from './read-cache.js';
export type * from './schema/index.js';
export { globalMigrations, localMigrations } from './migrations/index.js';
export type { NumberedMigration } from './migrations/index.js';

// dqlite (cluster) backend: store, wire client, kysely dialect and the node sidecar.
export { DqliteStore } from './dqlite/dqlite-store.js';
export type { DqliteStoreOptions } from './dqlite/dqlite-store.js';
export { DqliteClient } from './dqlite/client.js';
export type { DqliteClientOptions, BeginOptions, TransactionOptions } from './dqlite/client.js';
export { DqliteTransaction } from './dqlite/transaction.js';
export { ClusterMembership } from './dqlite/membership.js';
export { NodeClient } from './dqlite/node-client.js';
export type { QueryResult as DqliteQueryResult, NodeClientOptions } from './dqlite/node-client.js';
export type { Dialer } from './dqlite/connection.js';
export { findLeader } from './dqlite/leader-discovery.js';
export type { ExecResult as DqliteExecResult, NodeInfo as DqliteNodeInfo, NodeMetadata as DqliteNodeMetadata } from './dqlite/responses.js';
export type { DqliteParam, DqliteValue } from './dqlite/values.js';
export { NodeRole, SqliteCode, roleName } from './dqlite/protocol-codes.js';
export {
  DqliteError,
  NotLeaderError,
  LeadershipLostError,
  TimeoutError as DqliteTimeoutError,
  ConnectionError as DqliteConnectionError,
  NoLeaderError,
  ProtocolError as DqliteProtocolError,
  isBusy,
} from './dqlite/errors.js';
export { DqliteDialect, DqliteAdapter } from './dqlite/kysely-dialect.js';
export { DqliteSidecar, buildSidecar, recoverNode, sidecarBinaryPath } from './dqlite/sidecar.js';
export type { SidecarOptions, SidecarExit, RecoverNode } from './dqlite/sidecar.js';
