// Storage endpoints, one set per driver: /storage/:driver/... (only `dir` for now).
// Paths are built by the agent from the pool source and LXD's layout; names never contain '/'.

export type AgentVolumeType = 'containers' | 'custom';

export interface AgentVolumeRef {
  /** Absolute pool source directory (the pool's `source` config). */
  poolSource: string;
  type: AgentVolumeType;
  /** Volume name as LXD stores it on disk: `<project>_<name>` outside the default project. */
  name: string;
}

/** POST /storage/:driver/volume/create */
export interface AgentVolumeCreateRequest {
  volume: AgentVolumeRef;
  /** Copy an image unpacked with /storage/:driver/image/unpack into the new volume. */
  fromImage?: { fingerprint: string };
}

export interface AgentVolumeCreateResult {
  /** `<poolSource>/<type>/<name>` */
  path: string;
  /** `<path>/rootfs` for instance volumes. */
  rootfsPath: string;
}

/** POST /storage/:driver/volume/delete */
export interface AgentVolumeDeleteRequest {
  volume: AgentVolumeRef;
}

/** POST /storage/:driver/volume/rename */
export interface AgentVolumeRenameRequest {
  volume: AgentVolumeRef;
  newName: string;
}

/**
 * POST /storage/:driver/image/unpack: unpack an image once per pool into `<poolSource>/images/<fingerprint>/`
 * (metadata.yaml, templates/, rootfs/). Unified image: `imageFile` only (tarball). Split image: `imageFile` is the
 * metadata tarball and `rootfsFile` the rootfs (squashfs or tarball). Tarballs may be plain, gzip, xz, bzip2 or zstd.
 */
export interface AgentImageUnpackRequest {
  poolSource: string;
  fingerprint: string;
  imageFile: string;
  rootfsFile?: string;
}

export interface AgentImageUnpackResult {
  path: string;
  /** false: it was already unpacked in this pool, nothing was done. */
  created: boolean;
}

/** POST /storage/:driver/image/delete */
export interface AgentImageDeleteRequest {
  poolSource: string;
  fingerprint: string;
}
