import { execStatements } from '../statements.js';
import type { NumberedMigration } from '../migration.js';

export const migration: NumberedMigration = {
  name: '0001-initial',
  async up(db) {
    await execStatements(
      db,
      `
CREATE TABLE config (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL);
CREATE TABLE nodes (
  id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE, description TEXT NOT NULL DEFAULT '',
  address TEXT NOT NULL UNIQUE, schema INTEGER NOT NULL, api_extensions INTEGER NOT NULL,
  heartbeat TEXT NOT NULL, state INTEGER NOT NULL DEFAULT 0, arch INTEGER NOT NULL, failure_domain_id INTEGER);
CREATE TABLE nodes_roles (node_id INTEGER NOT NULL REFERENCES nodes (id) ON DELETE CASCADE, role INTEGER NOT NULL,
  UNIQUE (node_id, role));
CREATE TABLE projects (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE, description TEXT NOT NULL DEFAULT '');
CREATE TABLE projects_config (id INTEGER PRIMARY KEY AUTOINCREMENT,
  project_id INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE, key TEXT NOT NULL, value TEXT NOT NULL,
  UNIQUE (project_id, key));
CREATE TABLE certificates (id INTEGER PRIMARY KEY AUTOINCREMENT, fingerprint TEXT NOT NULL UNIQUE,
  type INTEGER NOT NULL, name TEXT NOT NULL, certificate TEXT NOT NULL, restricted INTEGER NOT NULL DEFAULT 0);
CREATE TABLE certificates_projects (
  certificate_id INTEGER NOT NULL REFERENCES certificates (id) ON DELETE CASCADE,
  project_id INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE, UNIQUE (certificate_id, project_id));
CREATE TABLE profiles (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, description TEXT NOT NULL DEFAULT '',
  project_id INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE, UNIQUE (project_id, name));
CREATE TABLE profiles_config (id INTEGER PRIMARY KEY AUTOINCREMENT,
  profile_id INTEGER NOT NULL REFERENCES profiles (id) ON DELETE CASCADE, key TEXT NOT NULL, value TEXT NOT NULL,
  UNIQUE (profile_id, key));
CREATE TABLE profiles_devices (id INTEGER PRIMARY KEY AUTOINCREMENT,
  profile_id INTEGER NOT NULL REFERENCES profiles (id) ON DELETE CASCADE, name TEXT NOT NULL, type TEXT NOT NULL,
  UNIQUE (profile_id, name));
CREATE TABLE profiles_devices_config (id INTEGER PRIMARY KEY AUTOINCREMENT,
  profile_device_id INTEGER NOT NULL REFERENCES profiles_devices (id) ON DELETE CASCADE, key TEXT NOT NULL,
  value TEXT NOT NULL, UNIQUE (profile_device_id, key));
CREATE TABLE storage_pools (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE, driver TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '', state INTEGER NOT NULL DEFAULT 0);
CREATE TABLE storage_pools_config (id INTEGER PRIMARY KEY AUTOINCREMENT,
  storage_pool_id INTEGER NOT NULL REFERENCES storage_pools (id) ON DELETE CASCADE,
  node_id INTEGER REFERENCES nodes (id) ON DELETE CASCADE, key TEXT NOT NULL, value TEXT NOT NULL,
  UNIQUE (storage_pool_id, node_id, key));
CREATE TABLE storage_pools_nodes (id INTEGER PRIMARY KEY AUTOINCREMENT,
  storage_pool_id INTEGER NOT NULL REFERENCES storage_pools (id) ON DELETE CASCADE,
  node_id INTEGER NOT NULL REFERENCES nodes (id) ON DELETE CASCADE, state INTEGER NOT NULL DEFAULT 0,
  UNIQUE (storage_pool_id, node_id));
CREATE TABLE networks (id INTEGER PRIMARY KEY AUTOINCREMENT,
  project_id INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE, name TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '', type TEXT NOT NULL DEFAULT 'bridge', state INTEGER NOT NULL DEFAULT 0,
  UNIQUE (project_id, name));
CREATE TABLE networks_config (id INTEGER PRIMARY KEY AUTOINCREMENT,
  network_id INTEGER NOT NULL REFERENCES networks (id) ON DELETE CASCADE,
  node_id INTEGER REFERENCES nodes (id) ON DELETE CASCADE, key TEXT NOT NULL, value TEXT NOT NULL,
  UNIQUE (network_id, node_id, key));
CREATE TABLE instances (id INTEGER PRIMARY KEY AUTOINCREMENT, node_id INTEGER NOT NULL REFERENCES nodes (id),
  name TEXT NOT NULL, type INTEGER NOT NULL, architecture INTEGER NOT NULL, ephemeral INTEGER NOT NULL DEFAULT 0,
  creation_date TEXT NOT NULL, stateful INTEGER NOT NULL DEFAULT 0, last_use_date TEXT,
  description TEXT NOT NULL DEFAULT '', project_id INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
  expiry_date TEXT, UNIQUE (project_id, name));
CREATE TABLE instances_config (id INTEGER PRIMARY KEY AUTOINCREMENT,
  instance_id INTEGER NOT NULL REFERENCES instances (id) ON DELETE CASCADE, key TEXT NOT NULL, value TEXT NOT NULL,
  UNIQUE (instance_id, key));
CREATE TABLE instances_devices (id INTEGER PRIMARY KEY AUTOINCREMENT,
  instance_id INTEGER NOT NULL REFERENCES instances (id) ON DELETE CASCADE, name TEXT NOT NULL, type TEXT NOT NULL,
  UNIQUE (instance_id, name));
CREATE TABLE instances_devices_config (id INTEGER PRIMARY KEY AUTOINCREMENT,
  instance_device_id INTEGER NOT NULL REFERENCES instances_devices (id) ON DELETE CASCADE, key TEXT NOT NULL,
  value TEXT NOT NULL, UNIQUE (instance_device_id, key));
CREATE TABLE instances_profiles (id INTEGER PRIMARY KEY AUTOINCREMENT,
  instance_id INTEGER NOT NULL REFERENCES instances (id) ON DELETE CASCADE,
  profile_id INTEGER NOT NULL REFERENCES profiles (id) ON DELETE CASCADE, apply_order INTEGER NOT NULL DEFAULT 0,
  UNIQUE (instance_id, profile_id));
CREATE TABLE instances_snapshots (id INTEGER PRIMARY KEY AUTOINCREMENT,
  instance_id INTEGER NOT NULL REFERENCES instances (id) ON DELETE CASCADE, name TEXT NOT NULL,
  creation_date TEXT NOT NULL, stateful INTEGER NOT NULL DEFAULT 0, description TEXT NOT NULL DEFAULT '',
  expiry_date TEXT, UNIQUE (instance_id, name));
CREATE TABLE instances_snapshots_config (id INTEGER PRIMARY KEY AUTOINCREMENT,
  instance_snapshot_id INTEGER NOT NULL REFERENCES instances_snapshots (id) ON DELETE CASCADE, key TEXT NOT NULL,
  value TEXT NOT NULL, UNIQUE (instance_snapshot_id, key));
CREATE TABLE instances_snapshots_devices (id INTEGER PRIMARY KEY AUTOINCREMENT,
  instance_snapshot_id INTEGER NOT NULL REFERENCES instances_snapshots (id) ON DELETE CASCADE, name TEXT NOT NULL,
  type TEXT NOT NULL, UNIQUE (instance_snapshot_id, name));
CREATE TABLE instances_snapshots_devices_config (id INTEGER PRIMARY KEY AUTOINCREMENT,
  instance_snapshot_device_id INTEGER NOT NULL REFERENCES instances_snapshots_devices (id) ON DELETE CASCADE,
  key TEXT NOT NULL, value TEXT NOT NULL, UNIQUE (instance_snapshot_device_id, key));
CREATE TABLE images (id INTEGER PRIMARY KEY AUTOINCREMENT, fingerprint TEXT NOT NULL, filename TEXT NOT NULL,
  size INTEGER NOT NULL, public INTEGER NOT NULL DEFAULT 0, architecture INTEGER NOT NULL, creation_date TEXT,
  expiry_date TEXT, upload_date TEXT NOT NULL, cached INTEGER NOT NULL DEFAULT 0, last_use_date TEXT,
  auto_update INTEGER NOT NULL DEFAULT 0, project_id INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
  type INTEGER NOT NULL DEFAULT 0, UNIQUE (project_id, fingerprint));
CREATE TABLE images_properties (id INTEGER PRIMARY KEY AUTOINCREMENT,
  image_id INTEGER NOT NULL REFERENCES images (id) ON DELETE CASCADE, type INTEGER NOT NULL DEFAULT 0,
  key TEXT NOT NULL, value TEXT NOT NULL);
CREATE TABLE images_aliases (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL,
  image_id INTEGER NOT NULL REFERENCES images (id) ON DELETE CASCADE, description TEXT NOT NULL DEFAULT '',
  project_id INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE, UNIQUE (project_id, name));
CREATE TABLE images_nodes (id INTEGER PRIMARY KEY AUTOINCREMENT,
  image_id INTEGER NOT NULL REFERENCES images (id) ON DELETE CASCADE,
  node_id INTEGER NOT NULL REFERENCES nodes (id) ON DELETE CASCADE, UNIQUE (image_id, node_id));
CREATE TABLE images_profiles (image_id INTEGER NOT NULL REFERENCES images (id) ON DELETE CASCADE,
  profile_id INTEGER NOT NULL REFERENCES profiles (id) ON DELETE CASCADE, UNIQUE (image_id, profile_id));
CREATE TABLE storage_volumes (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL,
  storage_pool_id INTEGER NOT NULL REFERENCES storage_pools (id) ON DELETE CASCADE,
  node_id INTEGER REFERENCES nodes (id) ON DELETE CASCADE, type INTEGER NOT NULL,
  description TEXT NOT NULL DEFAULT '', project_id INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
  content_type INTEGER NOT NULL DEFAULT 0, creation_date TEXT NOT NULL,
  UNIQUE (storage_pool_id, node_id, project_id, name, type));
CREATE TABLE storage_volumes_config (id INTEGER PRIMARY KEY AUTOINCREMENT,
  storage_volume_id INTEGER NOT NULL REFERENCES storage_volumes (id) ON DELETE CASCADE, key TEXT NOT NULL,
  value TEXT NOT NULL, UNIQUE (storage_volume_id, key));
CREATE TABLE storage_volumes_snapshots (id INTEGER PRIMARY KEY AUTOINCREMENT,
  storage_volume_id INTEGER NOT NULL REFERENCES storage_volumes (id) ON DELETE CASCADE, name TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '', expiry_date TEXT, creation_date TEXT NOT NULL,
  UNIQUE (storage_volume_id, name));
CREATE TABLE storage_volumes_snapshots_config (id INTEGER PRIMARY KEY AUTOINCREMENT,
  storage_volume_snapshot_id INTEGER NOT NULL REFERENCES storage_volumes_snapshots (id) ON DELETE CASCADE,
  key TEXT NOT NULL, value TEXT NOT NULL, UNIQUE (storage_volume_snapshot_id, key));
CREATE TABLE warnings (id INTEGER PRIMARY KEY AUTOINCREMENT, node_id INTEGER REFERENCES nodes (id) ON DELETE CASCADE,
  project_id INTEGER REFERENCES projects (id) ON DELETE CASCADE, entity_type_code INTEGER, entity_id INTEGER,
  uuid TEXT NOT NULL UNIQUE, type_code INTEGER NOT NULL, status INTEGER NOT NULL, first_seen_date TEXT NOT NULL,
  last_seen_date TEXT NOT NULL, updated_date TEXT, last_message TEXT NOT NULL, count INTEGER NOT NULL);
CREATE TABLE operations (id INTEGER PRIMARY KEY AUTOINCREMENT, uuid TEXT NOT NULL UNIQUE,
  node_id INTEGER NOT NULL REFERENCES nodes (id) ON DELETE CASCADE, type INTEGER NOT NULL DEFAULT 0,
  project_id INTEGER REFERENCES projects (id) ON DELETE CASCADE);
INSERT INTO nodes (id, name, address, schema, api_extensions, heartbeat, arch) VALUES (1, 'none', '0.0.0.0', 1, 0, '', 0);
INSERT INTO projects (id, name, description) VALUES (1, 'default', 'Default LXD project');
INSERT INTO projects_config (project_id, key, value) VALUES
  (1, 'features.images', 'true'), (1, 'features.profiles', 'true'),
  (1, 'features.storage.volumes', 'true'), (1, 'features.networks', 'true');
INSERT INTO profiles (id, name, description, project_id) VALUES (1, 'default', 'Default LXD profile', 1);
`,
    );
  },
};
