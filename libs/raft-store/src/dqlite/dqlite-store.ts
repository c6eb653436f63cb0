// Cluster backend for the GLOBAL schema: a dqlite database reached through whichever node leads. The node-local
// schema stays in each member's own SQLite file (how both are combined in cluster mode is decided above this class).
import { Kysely } from 'kysely';
import { runMigrations } from '../migrator.js';
import { globalMigrations } from '../migrations/index.js';
import type { Database } from '../schema/index.js';
import type { RawResult, Store, StoreScope, Tx } from '../store.js';
import { type DqliteClientOptions, DqliteClient, transactionRetryable } from './client.js';
import { DqliteDialect } from './kysely-dialect.js';
import { defaultRetryPolicy, withRetry } from './retry.js';
import { returnsRows } from './statement-kind.js';

export interface DqliteStoreOptions extends Omit<DqliteClientOptions, 'database'> {
  /** Name of the replicated database. Default "global.db". */
  database?: string;
}

export class DqliteStore implements Store {
  private constructor(
    readonly client: DqliteClient,
    readonly db: Kysely<Database>,
  ) {}

  /** Connects to the cluster (any reachable member; the leader is found) and brings the global schema up to date. */
  static async open(options: DqliteStoreOptions): Promise<DqliteStore> {
    const client = new DqliteClient({ ...options, database: options.database ?? 'global.db' });
    // Only the global tables exist here; the type is the combined one because Store.db is (see the class comment).
    const db = new Kysely<Database>({ dialect: new DqliteDialect({ client }) });
    try {
      await runMigrations(db, 'schema_global', globalMigrations);
    } catch (err) {
      await db.destroy();
      throw err;
    }
    return new DqliteStore(client, db);
  }

  /**
   * Commits when `fn` resolves, rolls back when it throws. Like LXD, a transaction that failed before COMMIT because
   * leadership moved, the connection dropped or the write lock stayed busy is run again from the start, so `fn` must
   * not have effects outside the database that cannot be repeated.
   */
  transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    return withRetry(() => this.db.transaction().execute(fn), transactionRetryable, defaultRetryPolicy);
  }

  /** Every member writes: nothing read may be kept. */
  writeGeneration(): null {
    return null;
  }

  async raw(scope: StoreScope, sqlText: string): Promise<RawResult> {
    if (scope !== 'global') {
      throw new Error('the dqlite store holds only the global database; local queries go to the member\'s SQLite store');
    }
    if (returnsRows(sqlText)) {
      const result = await this.client.query(sqlText);
      // Booleans as 0/1, as SQLite itself (and the SQLite store) reports them.
      const rows = result.rows.map((r) => r.map((v) => (typeof v === 'boolean' ? Number(v) : v)));
      return { kind: 'rows', columns: result.columns, rows };
    }
    return { kind: 'exec', rowsAffected: (await this.client.exec(sqlText)).rowsAffected };
  }

  async close(): Promise<void> {
    await this.db.destroy();
  }
}
