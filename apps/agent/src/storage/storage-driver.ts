// What the agent's routes need from a storage driver. One driver per file: dir.storage.ts, btrfs.storage.ts (LVM,
// ZFS and Ceph would slot in beside them; this kernel has none of their parts).
import type {
  AgentImageDeleteRequest,
  AgentImageUnpackRequest,
  AgentImageUnpackResult,
  AgentVolumeCopyRequest,
  AgentVolumeCreateRequest,
  AgentVolumeCreateResult,
  AgentVolumeDeleteRequest,
  AgentVolumeImageExportRequest,
  AgentVolumeImageExportResult,
  AgentVolumeRenameRequest,
  AgentBackupExportRequest,
  AgentBackupImportRequest,
  AgentSnapshotRenameRequest,
  AgentSnapshotRequest,
  AgentVolumeQuotaRequest,
  AgentVolumeRefreshRequest,
  AgentVolumeRefreshResult,
  AgentVolumeRef,
  AgentVolumeUsageResult,
} from '@lxdts/api-types';

export interface StorageDriver {
  readonly name: string;
  /** Unpacks an image once per pool; a second call for the same fingerprint does nothing. */
  unpackImage(request: AgentImageUnpackRequest): Promise<AgentImageUnpackResult>;
  deleteImage(request: AgentImageDeleteRequest): Promise<void>;
  /** Creates a volume, empty or as a copy of an unpacked image. */
  createVolume(request: AgentVolumeCreateRequest): Promise<AgentVolumeCreateResult>;
  /** Creates a volume as a copy of another one (lxc copy). */
  copyVolume(request: AgentVolumeCopyRequest): Promise<AgentVolumeCreateResult>;
  /** Bytes the volume's files take on disk (lxc storage volume info). */
  volumeUsage(volume: AgentVolumeRef): Promise<AgentVolumeUsageResult>;
  /** Brings an existing volume in line with another, moving only what differs (lxc copy --refresh). */
  refreshVolume(request: AgentVolumeRefreshRequest): Promise<AgentVolumeRefreshResult>;
  /** Packs a volume into a unified image tarball (lxc publish). */
  exportImage(request: AgentVolumeImageExportRequest): Promise<AgentVolumeImageExportResult>;
  /** Removes a volume and its snapshots. */
  deleteVolume(request: AgentVolumeDeleteRequest): Promise<void>;
  /** Renames a volume and its snapshots. */
  renameVolume(request: AgentVolumeRenameRequest): Promise<void>;
  createSnapshot(request: AgentSnapshotRequest): Promise<void>;
  deleteSnapshot(request: AgentSnapshotRequest): Promise<void>;
  renameSnapshot(request: AgentSnapshotRenameRequest): Promise<void>;
  exportBackup(request: AgentBackupExportRequest): Promise<void>;
  importBackup(request: AgentBackupImportRequest): Promise<void>;
  /** Replaces the volume's content with the snapshot's. */
  restoreSnapshot(request: AgentSnapshotRequest): Promise<void>;
  /** Limits the volume's size (root disk `size`); a driver without quotas accepts and ignores it, as LXD's dir. */
  setQuota(request: AgentVolumeQuotaRequest): Promise<void>;
}
