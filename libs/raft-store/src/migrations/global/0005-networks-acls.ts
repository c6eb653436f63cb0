import { execStatements } from '../statements.js';
import type { NumberedMigration } from '../migration.js';

// Network ACLs (`lxc network acl`, /1.0/network-acls): LXD's networks_acls table, the rules kept as JSON lists as
// LXD keeps them, and their config.
export const migration: NumberedMigration = {
  name: '0005-networks-acls',
  async up(db) {
    await execStatements(
      db,
      `
CREATE TABLE networks_acls (id INTEGER PRIMARY KEY AUTOINCREMENT,
  project_id INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE, name TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '', ingress TEXT NOT NULL DEFAULT '[]', egress TEXT NOT NULL DEFAULT '[]',
  UNIQUE (project_id, name));
CREATE TABLE networks_acls_config (id INTEGER PRIMARY KEY AUTOINCREMENT,
  network_acl_id INTEGER NOT NULL REFERENCES networks_acls (id) ON DELETE CASCADE, key TEXT NOT NULL,
  value TEXT NOT NULL, UNIQUE (network_acl_id, key));
`,
    );
  },
};
