// Tables of the global (cluster-wide) database. Shaped after LXD's schema so a replicated backend (dqlite) can
// host the same tables later. Booleans are 0/1 integers, dates ISO-8601 strings.
import type { Generated } from 'kysely';

export interface ConfigTable {
  key: string;
  value: string;
}

export interface NodesTable {
  id: Generated<number>;
  name: string;
  description: string;
  address: string;
  schema: number;
  api_extensions: number;
  heartbeat: string;
  state: number;
  arch: number;
  failure_domain_id: number | null;
}

export interface NodesRolesTable {
  node_id: number;
  role: number;
}

export interface ProjectsTable {
  id: Generated<number>;
  name: string;
  description: string;
}

export interface KeyValueTable {
  id: Generated<number>;
  key: string;
  value: string;
}

export interface ProjectsConfigTable extends KeyValueTable {
  project_id: number;
}

export interface CertificatesTable {
  id: Generated<number>;
  fingerprint: string;
  /** 1 client, 2 server (LXD's certificate type codes), 3 metrics. */
  type: number;
  name: string;
  certificate: string;
  restricted: number;
}

export interface CertificatesProjectsTable {
  certificate_id: number;
  project_id: number;
}

export interface ProfilesTable {
  id: Generated<number>;
  name: string;
  description: string;
  project_id: number;
}

export interface ProfilesConfigTable extends KeyValueTable {
  profile_id: number;
}

export interface DevicesTable {
  id: Generated<number>;
  name: string;
  type: string;
}

export interface ProfilesDevicesTable extends DevicesTable {
  profile_id: number;
}

export interface ProfilesDevicesConfigTable extends KeyValueTable {
  profile_device_id: number;
}

export interface StoragePoolsTable {
  id: Generated<number>;
  name: string;
  driver: string;
  description: string;
  /** 0 pending, 1 created, 2 errored (LXD's storagePoolState). */
  state: number;
}

export interface StoragePoolsConfigTable extends KeyValueTable {
  storage_pool_id: number;
  /** null = applies to every member; else member-specific (e.g. `source`). */
  node_id: number | null;
}

export interface StoragePoolsNodesTable {
  id: Generated<number>;
  storage_pool_id: number;
  node_id: number;
  state: number;
}

export interface NetworksTable {
  id: Generated<number>;
  project_id: number;
  name: string;
  description: string;
  type: string;
  state: number;
}

export interface NetworksConfigTable extends KeyValueTable {
  network_id: number;
  node_id: number | null;
}

export interface InstancesTable {
  id: Generated<number>;
  node_id: number;
  name: string;
  /** 0 container, 1 virtual-machine. */
  type: number;
  architecture: number;
  ephemeral: number;
  creation_date: string;
  stateful: number;
  last_use_date: string | null;
  description: string;
  project_id: number;
  expiry_date: string | null;
}

export interface InstancesConfigTable extends KeyValueTable {
  instance_id: number;
}

export interface InstancesDevicesTable extends DevicesTable {
  instance_id: number;
}

export interface InstancesDevicesConfigTable extends KeyValueTable {
  instance_device_id: number;
}

export interface InstancesProfilesTable {
  id: Generated<number>;
  instance_id: number;
  profile_id: number;
  apply_order: number;
}

export interface NetworksAclsTable {
  id: Generated<number>;
  project_id: number;
  name: string;
  description: string;
  ingress: string;
  egress: string;
}

export interface NetworksAclsConfigTable {
  id: Generated<number>;
  network_acl_id: number;
  key: string;
  value: string;
}

export interface StorageVolumesBackupsTable {
  id: Generated<number>;
  storage_volume_id: number;
  name: string;
  creation_date: string;
  expiry_date: string | null;
  volume_only: number;
  optimized_storage: number;
}

export interface InstancesBackupsTable {
  id: Generated<number>;
  instance_id: number;
  name: string;
  creation_date: string;
  expiry_date: string | null;
  container_only: number;
  optimized_storage: number;
}

export interface InstancesSnapshotsTable {
  id: Generated<number>;
  instance_id: number;
  name: string;
  creation_date: string;
  stateful: number;
  description: string;
  expiry_date: string | null;
}

export interface InstancesSnapshotsConfigTable extends KeyValueTable {
  instance_snapshot_id: number;
}

export interface InstancesSnapshotsDevicesTable extends DevicesTable {
  instance_snapshot_id: number;
}

export interface InstancesSnapshotsDevicesConfigTable extends KeyValueTable {
  instance_snapshot_device_id: number;
}

export interface ImagesTable {
  id: Generated<number>;
  fingerprint: string;
  filename: string;
  size: number;
  public: number;
  architecture: number;
  creation_date: string | null;
  expiry_date: string | null;
  upload_date: string;
  cached: number;
  last_use_date: string | null;
  auto_update: number;
  project_id: number;
  /** 0 container, 1 virtual-machine. */
  type: number;
}

export interface ImagesPropertiesTable {
  id: Generated<number>;
  image_id: number;
  type: number;
  key: string;
  value: string;
}

export interface ImagesAliasesTable {
  id: Generated<number>;
  name: string;
  image_id: number;
  description: string;
  project_id: number;
}

export interface ImagesNodesTable {
  id: Generated<number>;
  image_id: number;
  node_id: number;
}

export interface ImagesProfilesTable {
  image_id: number;
  profile_id: number;
}

export interface StorageVolumesTable {
  id: Generated<number>;
  name: string;
  storage_pool_id: number;
  node_id: number | null;
  /** 0 container, 1 image, 2 custom, 3 virtual-machine. */
  type: number;
  description: string;
  project_id: number;
  /** 0 filesystem, 1 block, 2 iso. */
  content_type: number;
  creation_date: string;
}

export interface StorageVolumesConfigTable extends KeyValueTable {
  storage_volume_id: number;
}

export interface StorageVolumesSnapshotsTable {
  id: Generated<number>;
  storage_volume_id: number;
  name: string;
  description: string;
  expiry_date: string | null;
  creation_date: string;
}

export interface StorageVolumesSnapshotsConfigTable extends KeyValueTable {
  storage_volume_snapshot_id: number;
}

export interface WarningsTable {
  id: Generated<number>;
  node_id: number | null;
  project_id: number | null;
  entity_type_code: number | null;
  entity_id: number | null;
  uuid: string;
  type_code: number;
  /** 1 new, 2 acknowledged, 4 resolved. */
  status: number;
  first_seen_date: string;
  last_seen_date: string;
  updated_date: string | null;
  last_message: string;
  count: number;
}

export interface OperationsTable {
  id: Generated<number>;
  uuid: string;
  node_id: number;
  type: number;
  project_id: number | null;
}

/** A pending `lxc cluster add` token (0002). */
export interface ClusterJoinTokensTable {
  id: Generated<number>;
  uuid: string;
  server_name: string;
  secret: string;
  created_at: string;
  expires_at: string;
}

export interface GlobalDatabase {
  config: ConfigTable;
  cluster_join_tokens: ClusterJoinTokensTable;
  nodes: NodesTable;
  nodes_roles: NodesRolesTable;
  projects: ProjectsTable;
  projects_config: ProjectsConfigTable;
  certificates: CertificatesTable;
  certificates_projects: CertificatesProjectsTable;
  profiles: ProfilesTable;
  profiles_config: ProfilesConfigTable;
  profiles_devices: ProfilesDevicesTable;
  profiles_devices_config: ProfilesDevicesConfigTable;
  storage_pools: StoragePoolsTable;
  storage_pools_config: StoragePoolsConfigTable;
  storage_pools_nodes: StoragePoolsNodesTable;
  networks: NetworksTable;
  networks_config: NetworksConfigTable;
  instances: InstancesTable;
  instances_config: InstancesConfigTable;
  instances_devices: InstancesDevicesTable;
  instances_devices_config: InstancesDevicesConfigTable;
  instances_profiles: InstancesProfilesTable;
  instances_backups: InstancesBackupsTable;
  storage_volumes_backups: StorageVolumesBackupsTable;
  networks_acls: NetworksAclsTable;
  networks_acls_config: NetworksAclsConfigTable;
  instances_snapshots: InstancesSnapshotsTable;
  instances_snapshots_config: InstancesSnapshotsConfigTable;
  instances_snapshots_devices: InstancesSnapshotsDevicesTable;
  instances_snapshots_devices_config: InstancesSnapshotsDevicesConfigTable;
  images: ImagesTable;
  images_properties: ImagesPropertiesTable;
  images_aliases: ImagesAliasesTable;
  images_nodes: ImagesNodesTable;
  images_profiles: ImagesProfilesTable;
  storage_volumes: StorageVolumesTable;
  storage_volumes_config: StorageVolumesConfigTable;
  storage_volumes_snapshots: StorageVolumesSnapshotsTable;
  storage_volumes_snapshots_config: StorageVolumesSnapshotsConfigTable;
  warnings: WarningsTable;
  operations: OperationsTable;
}
