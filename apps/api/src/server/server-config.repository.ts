import { Inject, Injectable } from '@nestjs/common';
import type { Store, Tx } from '@lxdts/raft-store';
import { STORE } from '../daemon/tokens.js';

/** Server config: global keys in `config`, member-local keys in `local_config`. */
@Injectable()
export class ServerConfigRepository {
  constructor(@Inject(STORE) private readonly store: Store) {}

  /** Standalone, this daemon is the only writer and may cache; clustered, other members change global keys too. */
  get cacheable(): boolean {
    return !this.store.local;
  }

  async load(): Promise<{ local: Record<string, string>; global: Record<string, string> }> {
    const [local, global] = await Promise.all([
      (this.store.local ?? this.store.db).selectFrom('local_config').select(['key', 'value']).execute(),
      this.store.db.selectFrom('config').select(['key', 'value']).execute(),
    ]);
    return { local: toMap(local), global: toMap(global) };
  }

  /** Writes `changes` in one transaction; an empty value deletes the key. */
  async write(changes: { local: Record<string, string>; global: Record<string, string> }, tx?: Tx): Promise<void> {
    if (this.store.local) {
      // Clustered: the member's keys go to its own file, the others to the replicated database.
      const local = this.store.local;
      await local.transaction().execute((t) => writeLocal(t, changes.local));
      const global = async (t: Tx) => writeGlobal(t, changes.global);
      await (tx ? global(tx) : this.store.transaction(global));
      return;
    }
    const run = async (t: Tx) => {
      await writeLocal(t, changes.local);
      await writeGlobal(t, changes.global);
    };
    if (tx) await run(tx);
    else await this.store.transaction(run);
  }
}

async function writeLocal(t: Tx, changes: Record<string, string>): Promise<void> {
  for (const [key, value] of Object.entries(changes)) {
    await t.deleteFrom('local_config').where('key', '=', key).execute();
    if (value !== '') await t.insertInto('local_config').values({ key, value }).execute();
  }
}

async function writeGlobal(t: Tx, changes: Record<string, string>): Promise<void> {
  for (const [key, value] of Object.entries(changes)) {
    await t.deleteFrom('config').where('key', '=', key).execute();
    if (value !== '') await t.insertInto('config').values({ key, value }).execute();
  }
}

const toMap = (rows: { key: string; value: string }[]): Record<string, string> =>
  Object.fromEntries(rows.map((r) => [r.key, r.value]));
