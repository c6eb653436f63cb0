// Kysely's SQLite driver prepares every query it runs; preparing is a good part of a small query's cost. This keeps
// the prepared statements of the most recent distinct SQL texts (repositories build the same few hundred) and hands
// the same statement back. Safe because the driver runs one query at a time to completion (all/run, no iterate).
import type BetterSqlite3 from 'better-sqlite3';
import type { SqliteDatabase, SqliteStatement } from 'kysely';

export function withStatementCache(db: BetterSqlite3.Database, max = 512): SqliteDatabase {
  const cache = new Map<string, BetterSqlite3.Statement>();
  return {
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
        stmt = db.prepare(sql);
        if (cache.size >= max) cache.delete(cache.keys().next().value as string);
      }
      cache.set(sql, stmt);
      return stmt as unknown as SqliteStatement;
    },
  };
}
