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
