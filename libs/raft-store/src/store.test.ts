import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteStore } from './index.js';

test('sqlite store migrates, seeds the default project and rolls back failed transactions', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lxdts-store-'));
  try {
    const path = join(dir, 'database', 'local.db');
    let store = await SqliteStore.open(path);
    const projects = await store.db.selectFrom('projects').select('name').execute();
    assert.deepEqual(projects.map((p) => p.name), ['default']);
    await assert.rejects(
      store.transaction(async (tx) => {
        await tx.insertInto('config').values({ key: 'a', value: '1' }).execute();
        throw new Error('boom');
      }),
    );
    assert.equal((await store.db.selectFrom('config').selectAll().execute()).length, 0);
    await store.transaction((tx) => tx.insertInto('config').values({ key: 'b', value: '2' }).execute());
    await store.close();
    // Re-opening runs no migration twice and keeps the data.
    store = await SqliteStore.open(path);
    const raw = await store.raw('global', 'SELECT key, value FROM config');
    assert.deepEqual(raw, { kind: 'rows', columns: ['key', 'value'], rows: [['b', '2']] });
    await store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
