// Kysely's SQLite driver prepares every query it runs; preparing is a good part of a small query's cost. This keeps
// the prepared statements of the most recent distinct SQL texts (repositories build the same few hundred) and hands
// the same statement back. Safe because the driver runs one query at a time to completion (all/run, no iterate).
// It also counts the statements that may write (anything but a reader: BEGIN, COMMIT, INSERT, ...), which is the
// SQLite store's write generation (see Store.writeGeneration).
import type BetterSqlite3 from 'better-sqlite3';
import type { SqliteDatabase, SqliteStatement } from 'kysely';

export interface CachedStatements extends SqliteDatabase {
  /** Statements run so far that may have written. */
  writes(): number;
  /** Counts a write made around the cache (raw statements). */
  wrote(): void;
}

export function withStatementCache(db: BetterSqlite3.Database, max = 512): CachedStatements {
  const cache = new Map<string, SqliteStatement>();
  let writes = 0;
  return {
    writes: () => writes,
    wrote: () => {
      writes++;
    },
    close: () => {
      cache.clear();
      db.close();
    },
    prepare: (sql: string): SqliteStatement => {
      let stmt = cache.get(sql);
      if (stmt) {
        // Most recently used last: the first entry is the one to drop.
        cache.delete(sql);
      } else {
        const prepared = db.prepare(sql);
        stmt = prepared.reader
          ? (prepared as unknown as SqliteStatement)
          : {
              reader: false,
              all: (p: ReadonlyArray<unknown>) => prepared.all(p),
              run: (p: ReadonlyArray<unknown>) => {
                writes++;
                return prepared.run(p);
              },
              iterate: (p: ReadonlyArray<unknown>) => prepared.iterate(p),
            };
        if (cache.size >= max) cache.delete(cache.keys().next().value as string);
      }
      cache.set(sql, stmt);
      return stmt;
    },
  };
}
