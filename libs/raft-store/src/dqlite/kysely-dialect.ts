// kysely dialect for dqlite: SQLite's SQL, compiler and introspection, our driver. The adapter claims transactional
// DDL so kysely's Migrator runs all pending migrations in one (BEGIN IMMEDIATE) transaction: daemons starting at the
// same time serialise on the write lock instead of racing through the same migration.
import {
  type DatabaseIntrospector,
  type Dialect,
  type DialectAdapter,
  type Driver,
  type Kysely,
  type QueryCompiler,
  SqliteAdapter,
  SqliteIntrospector,
  SqliteQueryCompiler,
} from 'kysely';
import type { DqliteClient } from './client.js';
import { DqliteDriver } from './kysely-driver.js';

export class DqliteAdapter extends SqliteAdapter {
  override get supportsTransactionalDdl(): boolean {
    return true;
  }
}

export interface DqliteDialectConfig {
  /** The client the dialect uses; `Kysely#destroy()` closes it. */
  client: DqliteClient;
}

export class DqliteDialect implements Dialect {
  constructor(private readonly config: DqliteDialectConfig) {}

  createDriver(): Driver {
    return new DqliteDriver(this.config.client);
  }

  createQueryCompiler(): QueryCompiler {
    return new SqliteQueryCompiler();
  }

  createAdapter(): DialectAdapter {
    return new DqliteAdapter();
  }

  createIntrospector(db: Kysely<unknown>): DatabaseIntrospector {
    return new SqliteIntrospector(db);
  }
}
