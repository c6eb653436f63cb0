// Results of reads kept while the database has not been written (Store.writeGeneration unchanged): a repeated
// `lxc` call reads the same instance, profiles and pool a handful of times per command. Nothing is kept when others
// may write (clustered), inside a transaction (it may roll back), or when a write happened while loading. Callers
// get their own copy: a hit is cloned, so nobody can change what is kept.
import type { Db, Store } from './store.js';

interface Entry {
  generation: number;
  value: unknown;
}

export class ReadCache {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly store: Pick<Store, 'writeGeneration'>,
    private readonly max = 2048,
  ) {}

  async get<T>(key: string, db: Db, load: () => Promise<T>): Promise<T> {
    const generation = db.isTransaction ? null : this.store.writeGeneration();
    if (generation === null) return load();
    const hit = this.entries.get(key);
    if (hit && hit.generation === generation) return structuredClone(hit.value) as T;
    const value = await load();
    if (this.store.writeGeneration() === generation) {
      if (this.entries.size >= this.max) this.entries.clear(); // All of one older generation, in practice.
      this.entries.set(key, { generation, value: structuredClone(value) });
    }
    return value;
  }
}
