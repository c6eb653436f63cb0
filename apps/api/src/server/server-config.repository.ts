import { Inject, Injectable } from '@nestjs/common';
import type { Store, Tx } from '@lxdts/raft-store';
import { STORE } from '../daemon/tokens.js';

/** Server config: global keys in `config`, member-local keys in `local_config`. */
@Injectable()
export class ServerConfigRepository {
  constructor(@Inject(STORE) private readonly store: Store) {}

  async load(): Promise<{ local: Record<string, string>; global: Record<string, string> }> {
    const [local, global] = await Promise.all([
      this.store.db.selectFrom('local_config').select(['key', 'value']).execute(),
      this.store.db.selectFrom('config').select(['key', 'value']).execute(),
    ]);
    return { local: toMap(local), global: toMap(global) };
  }

  /** Writes `changes` in one transaction; an empty value deletes the key. */
  async write(changes: { local: Record<string, string>; global: Record<string, string> }, tx?: Tx): Promise<void> {
    const run = async (t: Tx) => {
      for (const [key, value] of Object.entries(changes.local)) {
        await t.deleteFrom('local_config').where('key', '=', key).execute();
        if (value !== '') await t.insertInto('local_config').values({ key, value }).execute();
      }
      for (const [key, value] of Object.entries(changes.global)) {
        await t.deleteFrom('config').where('key', '=', key).execute();
        if (value !== '') await t.insertInto('config').values({ key, value }).execute();
      }
    };
    if (tx) await run(tx);
    else await this.store.transaction(run);
  }
}

const toMap = (rows: { key: string; value: string }[]): Record<string, string> =>
  Object.fromEntries(rows.map((r) => [r.key, r.value]));
