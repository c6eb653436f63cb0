// The shared Store contract against a real one-node dqlite cluster, plus what only the dqlite store does.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { globalMigrations } from '../migrations/index.js';
import { runStoreContract } from '../store-contract.js';
import { DqliteStore } from './dqlite-store.js';
import { TestNodes } from './loopback-nodes.js';

runStoreContract('dqlite', async () => {
  const nodes = await TestNodes.start(1);
  return {
    open: () => DqliteStore.open({ addresses: nodes.addresses() }),
    cleanup: () => nodes.cleanup(),
  };
});

test('dqlite store: local queries are refused, concurrent opens migrate once', async () => {
  const nodes = await TestNodes.start(1);
  try {
    // Two daemons starting together: BEGIN IMMEDIATE serialises their migration transactions.
    const [a, b] = await Promise.all([
      DqliteStore.open({ addresses: nodes.addresses() }),
      DqliteStore.open({ addresses: nodes.addresses() }),
    ]);
    try {
      await assert.rejects(a.raw('local', 'SELECT 1'), /only the global database/);
      assert.deepEqual(await b.raw('global', 'SELECT count(*) FROM schema_global'), {
        kind: 'rows',
        columns: ['count(*)'],
        rows: [[globalMigrations.length]],
      });
    } finally {
      await a.close();
      await b.close();
    }
  } finally {
    await nodes.cleanup();
  }
});
