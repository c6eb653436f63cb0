// The store the daemon's repositories see. Standalone, one SQLite file holds both schemas. Clustered, the global
// schema moves to dqlite while this member's own tables (local_config, raft_nodes) stay in its SQLite file. The
// switch happens at run time (`lxc cluster enable`, a join), so repositories read `db` on every use and never keep
// it: this class forwards to whichever backend holds the global schema now.
import type { Db, RawResult, SqliteStore, Store, StoreScope, Tx } from '@lxdts/raft-store';

export class DaemonStore implements Store {
  private global: Store;
  private switches = 0;

  constructor(readonly localStore: SqliteStore) {
    this.global = localStore;
  }

  /** The global schema (and, standalone, the local one too). */
  get db(): Db {
    return this.global.db;
  }

  /** Store.local: set only while clustered (standalone, the member's tables are in `db`). */
  get local(): Db | undefined {
    return this.clustered ? this.localStore.db : undefined;
  }

  /** This member's own tables: always its SQLite file. */
  get memberDb(): Db {
    return this.localStore.db;
  }

  get clustered(): boolean {
    return this.global !== this.localStore;
  }

  /** From now on the global schema is in `store` (the previous global backend is not closed: the caller owns it). */
  useGlobal(store: Store): void {
    this.switches++;
    this.global = store;
  }

  writeGeneration(): number | null {
    const g = this.global.writeGeneration();
    // Distinct numbers for each backend switch: what was read from another database never matches again.
    return g === null ? null : this.switches * 2 ** 40 + g;
  }

  transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    return this.global.transaction(fn);
  }

  /** Runs `fn` in one transaction of the local SQLite file. */
  localTransaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    return this.localStore.transaction(fn);
  }

  raw(scope: StoreScope, sqlText: string): Promise<RawResult> {
    return scope === 'local' ? this.localStore.raw('local', sqlText) : this.global.raw('global', sqlText);
  }

  async close(): Promise<void> {
    if (this.global !== this.localStore) await this.global.close();
    await this.localStore.close();
  }
}
