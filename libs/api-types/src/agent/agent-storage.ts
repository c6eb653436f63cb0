// Storage endpoints, one set per driver: /storage/:driver/... (`dir` and `btrfs`).
// Paths are built by the agent from the pool source and LXD's layout; names never contain '/'.

export type AgentVolumeType = 'containers' | 'custom';

/** The storage drivers the agent runs. */
export type AgentStorageDriverName = 'dir' | 'btrfs';

/** Where a pool's volumes live on this host, and which driver handles them. */
export interface AgentPoolRef {
  /**
   * Absolute directory holding the pool's layout: a dir pool's `source`; a btrfs pool's mount point
   * (`$LXD_DIR/storage-pools/<name>`).
   */
  poolSource: string;
  /** 'dir' when absent. */
  driver?: AgentStorageDriverName;
}

export interface AgentVolumeRef extends AgentPoolRef {
  type: AgentVolumeType;
  /** Volume name as LXD stores it on disk: `<project>_<name>` outside the default project. */
  name: string;
}

/** POST /storage/:driver/volume/create */
export interface AgentVolumeCreateRequest {
  volume: AgentVolumeRef;
  /**
   * Copy an image unpacked with /storage/:driver/image/unpack into the new volume. With `imageFile` (and
   * `rootfsFile` for split images) an image not unpacked in this pool yet is unpacked first, as that endpoint does:
   * one request for a whole instance creation.
   */
  fromImage?: { fingerprint: string; imageFile?: string; rootfsFile?: string };
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

/**
 * POST /storage/:driver/snapshot/{create,delete,restore}: a snapshot of a volume, kept as LXD lays it out in
 * `<poolSource>/<type>-snapshots/<name>/<snapshot>/` (dir: a full copy). Restore puts the snapshot's content back
 * in place of the volume's (the container must be stopped).
 */
export interface AgentSnapshotRequest {
  volume: AgentVolumeRef;
  snapshot: string;
}

/**
 * POST /storage/:driver/backup/export: LXD's backup tarball of a volume (dir: `backup/index.yaml`, then
 * `backup/snapshots/<name>/` for each snapshot given, then `backup/container/` with `backup.yaml` in it), compressed
 * with `compression` ('none', 'gzip', 'bzip2', 'xz', 'lzma', 'zstd'), written to `targetFile` (made beside it first).
 */
export interface AgentBackupExportRequest {
  volume: AgentVolumeRef;
  snapshots: string[];
  /** The tarball's `backup/index.yaml`. */
  indexYaml: string;
  /** The instance's `backup/container/backup.yaml` (index.yaml's `config` part, as LXD keeps it in the volume). */
  backupYaml: string;
  targetFile: string;
  compression: string;
  /** Store owners shifted by the container's id map, as LXD does (ids in [0, range) move up by uid/gid). */
  shift?: { uid: number; gid: number; range: number };
  /**
   * LXD's optimized layout (btrfs only): `backup/optimized_header.yaml`, `backup/snapshots/<name>.bin` and
   * `backup/container.bin`, btrfs send streams (each incremental on the one before), instead of file trees.
   */
  optimized?: boolean;
}

/**
 * POST /storage/:driver/backup/import: unpacks such a tarball (any compression tar reads) into a new volume and its
 * snapshots; nothing is left when it fails.
 */
export interface AgentBackupImportRequest {
  volume: AgentVolumeRef;
  snapshots: string[];
  file: string;
  /** An LXD-made tarball of an unprivileged container: owners in [uid|gid, +range) are moved back by that much. */
  unshift?: { uid: number; gid: number; range: number };
  /** The tarball holds btrfs send streams (LXD's optimized layout): received, btrfs pools only. */
  optimized?: boolean;
}

/** POST /storage/:driver/snapshot/rename */
export interface AgentSnapshotRenameRequest extends AgentSnapshotRequest {
  newName: string;
}

/** POST /storage/:driver/volume/rename (its snapshots move with it) */
export interface AgentVolumeRenameRequest {
  volume: AgentVolumeRef;
  newName: string;
}

/**
 * POST /storage/:driver/image/unpack: unpack an image once per pool into `<poolSource>/images/<fingerprint>/`
 * (metadata.yaml, templates/, rootfs/). Unified image: `imageFile` only (tarball). Split image: `imageFile` is the
 * metadata tarball and `rootfsFile` the rootfs (squashfs or tarball). Tarballs may be plain, gzip, xz, bzip2 or zstd.
 */
export interface AgentImageUnpackRequest extends AgentPoolRef {
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
export interface AgentImageDeleteRequest extends AgentPoolRef {
  fingerprint: string;
}

/**
 * POST /storage/:driver/volume/copy: a new volume `volume` as a copy of `source` (same or another pool), e.g. for
 * `lxc copy`. The source may belong to a running container (the API freezes it for the copy).
 */
export interface AgentVolumeCopyRequest {
  volume: AgentVolumeRef;
  source: AgentVolumeRef;
  /** Copy this snapshot of `source` instead of the volume itself (`lxc copy c/snap0 c2`). */
  sourceSnapshot?: string;
  /** Also copy these snapshots of `source` as the new volume's snapshots (`lxc copy` without --instance-only). */
  snapshots?: string[];
}

/** Compressions the agent can publish images with (LXD's `compression_algorithm` values it supports). */
/**
 * POST /storage/:driver/volume/refresh (lxc copy --refresh): the source's snapshots named in `snapshots` are copied
 * to the existing target, then the target's files are brought in line with the source's: only missing or outdated
 * files are copied (rsync), files the source no longer has are removed.
 */
export interface AgentVolumeRefreshRequest {
  volume: AgentVolumeRef;
  source: AgentVolumeRef;
  snapshots: string[];
}

export interface AgentVolumeRefreshResult {
  /** Bytes of file data copied into the volume (rsync's "total transferred file size"). */
  bytesTransferred: number;
  /** Regular files copied. */
  filesTransferred: number;
}

export type AgentImageCompression = 'none' | 'gzip' | 'bzip2' | 'xz' | 'lzma' | 'zstd';

/**
 * POST /storage/:driver/volume/export-image: packs an instance volume into a unified image tarball (`lxc publish`):
 * metadata.yaml (rewritten: architecture, creation date, expiry, properties; the volume's templates kept),
 * `templates/` and `rootfs/`, owners and modes as on disk (container ids: the rootfs is not shifted).
 */
export interface AgentVolumeImageExportRequest {
  volume: AgentVolumeRef;
  /** Absolute path of the tarball to create (must not exist; mode 0600). */
  targetFile: string;
  compression: AgentImageCompression;
  /** metadata.yaml `architecture`. */
  architecture: string;
  /** metadata.yaml `creation_date` (unix seconds). */
  creationDate: number;
  /** metadata.yaml `expiry_date` (unix seconds, 0 = none). */
  expiryDate: number;
  /** Replaces the properties of the volume's metadata.yaml; null keeps them (LXD: only non-empty request properties replace). */
  properties: Record<string, string> | null;
}

export interface AgentVolumeImageExportResult {
  /** Bytes written. */
  size: number;
  /** sha256 of the tarball: the image fingerprint. */
  sha256: string;
  /** The metadata.yaml written into the tarball. */
  metadataYaml: string;
}

// dir pools: LXD's directory layout under a pool's source (one directory per volume type and its snapshots).

/** POST /storage/dir/pool/create: `source` must be missing (it is created), empty, or an old dir pool's layout. */
export interface AgentPoolCreateRequest {
  /** Absolute, normalized path. */
  source: string;
}

/** What a pool creation made, so a failed creation can take back exactly that (POST /storage/dir/pool/undo-create). */
export interface AgentPoolCreated {
  /** The outermost directory created for `source` itself (it and its parents may have been missing). */
  createdRoot: string | null;
  /** Layout directories that did not exist before. */
  createdSubdirs: string[];
}

/**
 * POST /storage/dir/pool/delete: removes the layout directories (with any volume data left in them); when the pool
 * owns `source` (`ownedRoot` is `source` or the outermost directory created for it), the then empty directories
 * from `source` up to `ownedRoot` go too. Anything else in `source` stays.
 */
export interface AgentPoolDeleteRequest {
  source: string;
  ownedRoot?: string;
}

/** POST /storage/dir/pool/resources: statfs of the source, as ResourcesStoragePool. */
export interface AgentPoolResourcesRequest {
  source: string;
}

// btrfs pools: a btrfs file system mounted at `$LXD_DIR/storage-pools/<name>` holding the dir layout, each volume,
// image and snapshot a subvolume.

/**
 * POST /storage/btrfs/pool/create. Without `source`, a sparse loop file `loopFile` of `size` bytes is made and
 * formatted. With `source`: an existing directory on a btrfs file system (bind-mounted) or a block device (formatted
 * when it holds no file system).
 */
export interface AgentBtrfsPoolCreateRequest {
  mountPoint: string;
  loopFile?: string;
  size?: number;
  source?: string;
  mountOptions?: string;
}

export interface AgentBtrfsPoolCreated {
  /** What `source` became: the loop file, the directory, or the block device. */
  source: string;
}

/** POST /storage/btrfs/pool/mount (idempotent; at daemon start) and /storage/btrfs/pool/delete. */
export interface AgentBtrfsPoolRequest {
  mountPoint: string;
  source: string;
  mountOptions?: string;
  /** delete: the loop file (or source directory) the pool created, removed after unmounting. */
  owned?: string;
}

/** POST /storage/:driver/volume/quota: btrfs limits the volume's referenced bytes (0: no limit). */
export interface AgentVolumeQuotaRequest {
  volume: AgentVolumeRef;
  size: number;
}

/** POST /storage/:driver/volume/usage: bytes the volume's files take on disk. */
export interface AgentVolumeUsageResult {
  used: number;
}
