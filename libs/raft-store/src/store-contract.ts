// The behaviour every Store backend must show, as one node:test suite that each backend's test file runs with its
// own way of opening a store (SQLite file, dqlite cluster). Global schema only: that is what all backends share.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { globalMigrations } from './migrations/index.js';
import type { Store } from './store.js';

export interface StoreFixture {
  /** Opens a store on the fixture's database; every call runs the migrations again (they must be no-ops). */
  open(): Promise<Store>;
  /** Removes everything the fixture created. */
  cleanup(): Promise<void>;
}

export function runStoreContract(name: string, setup: () => Promise<StoreFixture>): void {
  describe(`Store contract: ${name}`, () => {
    let fixture: StoreFixture;
    let store: Store;

    before(async () => {
      fixture = await setup();
      store = await fixture.open();
    });

    after(async () => {
      await store?.close();
      await fixture?.cleanup();
    });

    test('migrations create the global schema and seed the default project and profile', async () => {
      const projects = await store.db.selectFrom('projects').select(['id', 'name', 'description']).execute();
      assert.deepEqual(projects, [{ id: 1, name: 'default', description: 'Default LXD project' }]);
      const features = await store.db
        .selectFrom('projects_config')
        .select('key')
        .where('project_id', '=', 1)
        .orderBy('key')
        .execute();
      assert.deepEqual(
        features.map((f) => f.key),
        ['features.images', 'features.networks', 'features.profiles', 'features.storage.volumes'],
      );
      const profile = await store.db.selectFrom('profiles').select(['name', 'project_id']).executeTakeFirstOrThrow();
      assert.deepEqual(profile, { name: 'default', project_id: 1 });
    });

    test('a transaction commits when fn resolves and rolls back when it throws', async () => {
      await assert.rejects(
        store.transaction(async (tx) => {
          await tx.insertInto('config').values({ key: 'contract.a', value: '1' }).execute();
          throw new Error('boom');
        }),
        /boom/,
      );
      const value = await store.transaction(async (tx) => {
        await tx.insertInto('config').values({ key: 'contract.b', value: '2' }).execute();
        return 'done';
      });
      assert.equal(value, 'done');
      const keys = await store.db.selectFrom('config').select('key').where('key', 'like', 'contract.%').execute();
      assert.deepEqual(keys, [{ key: 'contract.b' }]);
    });

    test('a failed statement inside a transaction rolls back the statements before it', async () => {
      await assert.rejects(
        store.transaction(async (tx) => {
          await tx.insertInto('config').values({ key: 'contract.c', value: '3' }).execute();
          await tx.insertInto('projects').values({ name: 'default', description: 'duplicate' }).execute();
        }),
        /UNIQUE constraint failed: projects.name/,
      );
      const c = await store.db.selectFrom('config').select('key').where('key', '=', 'contract.c').execute();
      assert.deepEqual(c, []);
    });

    test('insert … returning gives the new id, in and outside a transaction', async () => {
      const outside = await store.db
        .insertInto('projects')
        .values({ name: 'contract-p1', description: '' })
        .returning('id')
        .executeTakeFirstOrThrow();
      const inside = await store.transaction((tx) =>
        tx.insertInto('projects').values({ name: 'contract-p2', description: '' }).returning(['id', 'name']).executeTakeFirstOrThrow(),
      );
      assert.equal(typeof outside.id, 'number');
      assert.equal(inside.id, outside.id + 1);
      assert.equal(inside.name, 'contract-p2');
      const res = await store.db.deleteFrom('projects').where('name', 'like', 'contract-p%').executeTakeFirst();
      assert.equal(res.numDeletedRows, 2n);
    });

    test('foreign keys are enforced and cascade', async () => {
      const { id } = await store.db
        .insertInto('projects')
        .values({ name: 'contract-fk', description: '' })
        .returning('id')
        .executeTakeFirstOrThrow();
      await store.db.insertInto('projects_config').values({ project_id: id, key: 'k', value: 'v' }).execute();
      await store.db.deleteFrom('projects').where('id', '=', id).execute();
      assert.deepEqual(await store.db.selectFrom('projects_config').select('id').where('project_id', '=', id).execute(), []);
      await assert.rejects(
        store.db.insertInto('projects_config').values({ project_id: 9999, key: 'k', value: 'v' }).execute(),
        /FOREIGN KEY constraint failed/,
      );
    });

    test('raw global queries return column names and rows; other statements report rowsAffected', async () => {
      assert.deepEqual(await store.raw('global', "INSERT INTO config (key, value) VALUES ('contract.raw', 'x')"), {
        kind: 'exec',
        rowsAffected: 1,
      });
      assert.deepEqual(await store.raw('global', "SELECT key, value FROM config WHERE key = 'contract.raw'"), {
        kind: 'rows',
        columns: ['key', 'value'],
        rows: [['contract.raw', 'x']],
      });
      assert.deepEqual(await store.raw('global', "UPDATE config SET value = 'y' WHERE key LIKE 'contract.%'"), {
        kind: 'exec',
        rowsAffected: 2,
      });
      await assert.rejects(store.raw('global', 'SELEC 1'), /syntax error/);
    });

    test('re-opening runs no migration twice and keeps the data', async () => {
      const again = await fixture.open();
      try {
        const rows = await again.db.selectFrom('config').select(['key', 'value']).where('key', '=', 'contract.b').execute();
        assert.deepEqual(rows, [{ key: 'contract.b', value: 'y' }]);
        const applied = await again.raw('global', 'SELECT name FROM schema_global ORDER BY name');
        assert.deepEqual(applied, { kind: 'rows', columns: ['name'], rows: globalMigrations.map((m) => [m.name]) });
      } finally {
        await again.close();
      }
    });
  });
}
