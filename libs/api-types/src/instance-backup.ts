// Instance backups (LXD 5.0.2 shared/api/instance_backup.go; extensions container_backup, backup_compression_algorithm).

/** POST /1.0/instances/{name}/backups */
export interface InstanceBackupsPost {
  /** Empty: backup0, backup1, ... */
  name: string;
  /** RFC 3339; empty or the zero time: no expiry. */
  expires_at: string;
  instance_only: boolean;
  container_only: boolean;
  optimized_storage: boolean;
  /** Empty: the server's (or project's) `backups.compression_algorithm`. */
  compression_algorithm: string;
}

/** POST /1.0/instances/{name}/backups/{backup}: rename. */
export interface InstanceBackupPost {
  name: string;
}

/** GET /1.0/instances/{name}/backups/{backup} */
export interface InstanceBackup {
  name: string;
  created_at: string;
  expires_at: string;
  instance_only: boolean;
  container_only: boolean;
  optimized_storage: boolean;
}
