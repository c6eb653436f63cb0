import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteStore } from './index.js';
import { runStoreContract } from './store-contract.js';

runStoreContract('sqlite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lxdts-store-'));
  const path = join(dir, 'database', 'local.db');
  return {
    open: () => SqliteStore.open(path),
    cleanup: async () => rmSync(dir, { recursive: true, force: true }),
  };
});
