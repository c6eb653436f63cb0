import { execStatements } from '../statements.js';
import type { NumberedMigration } from '../migration.js';

// Custom volume backups (`lxc storage volume export`, /1.0/storage-pools/{pool}/volumes/custom/{name}/backups):
// LXD's storage_volumes_backups table. The tarball is a file under $LXD_DIR/backups/custom/ on the member holding
// the volume.
export const migration: NumberedMigration = {
  name: '0004-storage-volumes-backups',
  async up(db) {
    await execStatements(
      db,
      `
CREATE TABLE storage_volumes_backups (id INTEGER PRIMARY KEY AUTOINCREMENT,
  storage_volume_id INTEGER NOT NULL REFERENCES storage_volumes (id) ON DELETE CASCADE, name TEXT NOT NULL,
  creation_date TEXT NOT NULL, expiry_date TEXT, volume_only INTEGER NOT NULL DEFAULT 0,
  optimized_storage INTEGER NOT NULL DEFAULT 0, UNIQUE (storage_volume_id, name));
`,
    );
  },
};
