// Instance snapshots (LXD 5.0.2 shared/api/instance_snapshot.go).

/** POST /1.0/instances/{name}/snapshots */
export interface InstanceSnapshotsPost {
  /** Empty: the next name from `snapshots.pattern` (snap0, snap1, ...). */
  name: string;
  stateful: boolean;
  /** RFC 3339; empty or the zero time: no expiry. */
  expires_at?: string;
}

/** POST /1.0/instances/{name}/snapshots/{snapshot}: rename (migration is not supported). */
export interface InstanceSnapshotPost {
  name: string;
  migration: boolean;
  live: boolean;
}

/** GET /1.0/instances/{name}/snapshots/{snapshot} */
export interface InstanceSnapshot {
  architecture: string;
  config: Record<string, string>;
  created_at: string;
  devices: Record<string, Record<string, string>>;
  ephemeral: boolean;
  expanded_config: Record<string, string>;
  expanded_devices: Record<string, Record<string, string>>;
  expires_at: string;
  last_used_at: string;
  /** The snapshot's own name (without the instance's). */
  name: string;
  profiles: string[];
  /** Bytes used; -1 when the driver can't tell (dir). */
  size: number;
  stateful: boolean;
}
