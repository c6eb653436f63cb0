// The Store every repository works against: a typed kysely handle plus transactions. Backends (SQLite standalone,
// dqlite later) implement it; nothing above this interface knows which one is in use.
import type { Kysely, Transaction } from 'kysely';
import type { Database } from './schema/index.js';

export type Db = Kysely<Database>;
export type Tx = Transaction<Database>;

/** Result of a raw SQL statement (for `lxdts sql`). */
export type RawResult =
  | { kind: 'rows'; columns: string[]; rows: unknown[][] }
  | { kind: 'exec'; rowsAffected: number };

export type StoreScope = 'local' | 'global';

export interface Store {
  readonly db: Db;
  /**
   * The member's own tables (local_config, raft_nodes) when they live apart from `db` — clustered, `db` is the
   * replicated database and these stay in the member's SQLite file. Absent: they are in `db`.
   */
  readonly local?: Db;
  /** Runs `fn` in one transaction; it commits when `fn` resolves and rolls back when it throws. */
  transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T>;
  /**
   * A number that changes with every write to `db`, when this process is its only writer (standalone SQLite); null
   * when others write too (dqlite: any member). Read caches (ReadCache) hold only while it stays the same.
   */
  writeGeneration(): number | null;
  /** Runs one raw SQL statement against the local or global database. */
  raw(scope: StoreScope, sqlText: string): Promise<RawResult>;
  close(): Promise<void>;
}
