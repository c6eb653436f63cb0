import { execStatements } from '../statements.js';
import type { NumberedMigration } from '../migration.js';

// Pending cluster join tokens (`lxc cluster add`): any member must be able to accept a join, so they live in the
// replicated database, not in the issuing member's memory. Shown to clients as `token` operations.
export const migration: NumberedMigration = {
  name: '0002-cluster-join-tokens',
  async up(db) {
    await execStatements(
      db,
      `
CREATE TABLE cluster_join_tokens (id INTEGER PRIMARY KEY AUTOINCREMENT, uuid TEXT NOT NULL UNIQUE,
  server_name TEXT NOT NULL UNIQUE, secret TEXT NOT NULL, created_at TEXT NOT NULL, expires_at TEXT NOT NULL);
`,
    );
  },
};
