// Standalone backend: one SQLite file (WAL) holding both the local and the global schema.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { runMigrations } from '../migrator.js';
import { globalMigrations, localMigrations } from '../migrations/index.js';
import type { Database } from '../schema/index.js';
import type { RawResult, Store, StoreScope, Tx } from '../store.js';
import { type CachedStatements, withStatementCache } from './statement-cache.js';

export class SqliteStore implements Store {
  private constructor(
    private readonly sqlite: BetterSqlite3.Database,
    readonly db: Kysely<Database>,
    private readonly statements: CachedStatements,
  ) {}

  /** Opens (creating if needed) the database file and brings both schemas up to date. */
  static async open(path: string): Promise<SqliteStore> {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    const sqlite = new BetterSqlite3(path);
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('synchronous = NORMAL');
    sqlite.pragma('foreign_keys = ON');
    sqlite.pragma('busy_timeout = 5000');
    const statements = withStatementCache(sqlite);
    const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: statements }) });
    await runMigrations(db, 'schema_local', localMigrations);
    await runMigrations(db, 'schema_global', globalMigrations);
    return new SqliteStore(sqlite, db, statements);
  }

  writeGeneration(): number {
    return this.statements.writes();
  }

  transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    return this.db.transaction().execute(fn);
  }

  async raw(_scope: StoreScope, sqlText: string): Promise<RawResult> {
    // Both scopes share the file in standalone mode. Any raw statement may write (even a reader: RETURNING).
    this.statements.wrote();
    const stmt = this.sqlite.prepare(sqlText);
    if (stmt.reader) {
      stmt.raw(true);
      const rows = stmt.all() as unknown[][];
      return { kind: 'rows', columns: stmt.columns().map((c) => c.name), rows };
    }
    return { kind: 'exec', rowsAffected: stmt.run().changes };
  }

  async close(): Promise<void> {
    await this.db.destroy();
  }
}
