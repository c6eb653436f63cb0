import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sql } from 'kysely';
import { ReadCache, SqliteStore } from './index.js';

test('ReadCache: kept until any write, never inside a transaction, each caller gets its own copy', async () => {
  const store = await SqliteStore.open(':memory:');
  try {
    const cache = new ReadCache(store);
    let loads = 0;
    const read = (db = store.db) =>
      cache.get('projects', db, async () => {
        loads++;
        return { names: (await db.selectFrom('projects').select('name').execute()).map((r) => r.name) };
      });
    const first = await read();
    first.names.push('changed by the caller');
    assert.deepEqual(await read(), { names: ['default'] });
    assert.equal(loads, 1);

    const before = store.writeGeneration();
    await store.db.insertInto('projects').values({ name: 'p2', description: '' }).execute();
    assert.notEqual(store.writeGeneration(), before);
    assert.deepEqual(await read(), { names: ['default', 'p2'] });
    assert.equal(loads, 2);

    // In a transaction: read fresh and not kept (it may roll back).
    await store
      .transaction(async (tx) => {
        await tx.insertInto('projects').values({ name: 'p3', description: '' }).execute();
        assert.deepEqual((await read(tx)).names, ['default', 'p2', 'p3']);
        throw new Error('roll back');
      })
      .catch(() => undefined);
    assert.deepEqual((await read()).names, ['default', 'p2']);

    // Raw statements count as writes.
    const g = store.writeGeneration();
    await store.raw('global', "UPDATE projects SET description = 'x' WHERE name = 'p2'");
    assert.notEqual(store.writeGeneration(), g);

    // A write while loading: the result is returned but not kept.
    const during = await cache.get('during', store.db, async () => {
      await sql`UPDATE projects SET description = 'y'`.execute(store.db);
      return 1;
    });
    assert.equal(during, 1);
    let again = 0;
    await cache.get('during', store.db, async () => ++again);
    assert.equal(again, 1);
  } finally {
    await store.close();
  }
});
