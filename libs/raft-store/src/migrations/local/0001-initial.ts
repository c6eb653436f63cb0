import { execStatements } from '../statements.js';
import type { NumberedMigration } from '../migration.js';

export const migration: NumberedMigration = {
  name: '0001-initial',
  async up(db) {
    await execStatements(
      db,
      `
CREATE TABLE local_config (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL);
CREATE TABLE raft_nodes (id INTEGER PRIMARY KEY, address TEXT NOT NULL UNIQUE, role INTEGER NOT NULL DEFAULT 0,
  name TEXT NOT NULL DEFAULT '');
`,
    );
  },
};
