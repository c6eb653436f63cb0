// /1.0/storage-pools (rest-api.yaml definitions StoragePool*, extensions storage, entity_description,
// storage_volatile_initial_source) and the read-only volume listing under a pool (StorageVolume).

export type StoragePoolStatus = 'Pending' | 'Created' | 'Errored' | 'Unknown';

export interface StoragePoolPut {
  config: Record<string, string>;
  description: string;
}

export interface StoragePoolsPost extends StoragePoolPut {
  name: string;
  driver: string;
}

export interface StoragePool extends StoragePoolPut {
  name: string;
  driver: string;
  /** null when nothing uses the pool (LXD sends null, not []). */
  used_by: string[] | null;
  status: StoragePoolStatus;
  locations: string[];
}

export type StorageVolumeType = 'container' | 'image' | 'custom' | 'virtual-machine';
export type StorageVolumeContentType = 'filesystem' | 'block' | 'iso';

export interface StorageVolumePut {
  config: Record<string, string>;
  description: string;
}

export interface StorageVolume extends StorageVolumePut {
  name: string;
  type: StorageVolumeType;
  used_by: string[];
  location: string;
  content_type: StorageVolumeContentType;
  project: string;
  created_at: string;
}

/** PUT/PATCH /1.0/storage-pools/{pool}/volumes/{type}/{name}: config and description, or `restore` of a snapshot. */
export interface StorageVolumePutRequest extends StorageVolumePut {
  restore?: string;
}

/** Where a new volume's content comes from: nothing, or a copy of another volume (`pool`/`name`). */
export interface StorageVolumeSource {
  type: string;
  pool: string;
  name: string;
  /** The copy leaves the snapshots behind. */
  volume_only?: boolean;
}

/** POST /1.0/storage-pools/{pool}/volumes[/{type}] */
export interface StorageVolumesPost extends StorageVolumePut {
  name: string;
  type: string;
  content_type: string;
  source: StorageVolumeSource;
}

/** POST /1.0/storage-pools/{pool}/volumes/{type}/{name}: rename, or move to another pool. */
export interface StorageVolumePost {
  name: string;
  pool: string;
}

/** A custom volume's snapshot (GET …/volumes/custom/{name}/snapshots/{snapshot}). */
export interface StorageVolumeSnapshot {
  name: string;
  config: Record<string, string>;
  description: string;
  content_type: StorageVolumeContentType;
  created_at: string;
  expires_at: string;
}

/** POST …/volumes/custom/{name}/snapshots */
export interface StorageVolumeSnapshotsPost {
  name: string;
  expires_at: string | null;
}
