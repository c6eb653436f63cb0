import { execStatements } from '../statements.js';
import type { NumberedMigration } from '../migration.js';

// Instance backups (`lxc export`, /1.0/instances/{name}/backups): LXD's instances_backups table. The tarball itself
// is a file under $LXD_DIR/backups/instances/ on the member holding the instance.
export const migration: NumberedMigration = {
  name: '0003-instances-backups',
  async up(db) {
    await execStatements(
      db,
      `
CREATE TABLE instances_backups (id INTEGER PRIMARY KEY AUTOINCREMENT,
  instance_id INTEGER NOT NULL REFERENCES instances (id) ON DELETE CASCADE, name TEXT NOT NULL,
  creation_date TEXT NOT NULL, expiry_date TEXT, container_only INTEGER NOT NULL DEFAULT 0,
  optimized_storage INTEGER NOT NULL DEFAULT 0, UNIQUE (instance_id, name));
`,
    );
  },
};
