import { Inject, Injectable } from '@nestjs/common';
import type { Store, Tx } from '@lxdts/raft-store';
import { localMember } from '../cluster/local-member.js';
import { STORE } from '../daemon/tokens.js';

/** storage_volumes.type of custom volumes. */
export const CUSTOM_VOLUME = 2;

export interface VolumeRow {
  id: number;
  name: string;
  /** 0 container, 1 image, 2 custom, 3 virtual-machine. */
  type: number;
  description: string;
  project: string;
  /** 0 filesystem, 1 block, 2 iso. */
  content_type: number;
  creation_date: string;
  location: string | null;
  config: Record<string, string>;
  snapshots: { name: string; description: string; creation_date: string; config: Record<string, string> }[];
}

export interface VolumeFilter {
  poolId: number;
  /** undefined = every project. */
  project?: string;
  type?: number;
  name?: string;
}

export interface VolumeUser {
  kind: 'instance' | 'profile';
  name: string;
  project: string;
}

export interface NewCustomVolume {
  poolId: number;
  projectId: number;
  name: string;
  description: string;
  config: Record<string, string>;
  createdAt: string;
}

export interface VolumeSnapshotRow {
  id: number;
  name: string;
  description: string;
  creation_date: string;
  expiry_date: string | null;
  config: Record<string, string>;
}

export interface VolumeBackupRow {
  id: number;
  name: string;
  creation_date: string;
  expiry_date: string | null;
  volume_only: number;
  optimized_storage: number;
}

/** storage_volumes and their snapshots: read for every volume type, written for custom volumes (instances write their own). */
@Injectable()
export class StorageVolumesRepository {
  constructor(@Inject(STORE) private readonly store: Store) {}

  async list(filter: VolumeFilter): Promise<VolumeRow[]> {
    const db = this.store.db;
    let q = db
      .selectFrom('storage_volumes')
      .innerJoin('projects', 'projects.id', 'storage_volumes.project_id')
      .leftJoin('nodes', 'nodes.id', 'storage_volumes.node_id')
      .select([
        'storage_volumes.id',
        'storage_volumes.name',
        'storage_volumes.type',
        'storage_volumes.description',
        'projects.name as project',
        'storage_volumes.content_type',
        'storage_volumes.creation_date',
        'nodes.name as location',
      ])
      .where('storage_volumes.storage_pool_id', '=', filter.poolId);
    if (filter.project !== undefined) q = q.where('projects.name', '=', filter.project);
    if (filter.type !== undefined) q = q.where('storage_volumes.type', '=', filter.type);
    if (filter.name !== undefined) q = q.where('storage_volumes.name', '=', filter.name);
    const rows = await q.orderBy('storage_volumes.type').orderBy('storage_volumes.name').execute();
    if (rows.length === 0) return [];
    const ids = rows.map((r) => r.id);
    const [config, snapshots, snapshotConfig] = await Promise.all([
      db.selectFrom('storage_volumes_config').select(['storage_volume_id as id', 'key', 'value']).where('storage_volume_id', 'in', ids).execute(),
      db
        .selectFrom('storage_volumes_snapshots')
        .select(['id', 'storage_volume_id', 'name', 'description', 'creation_date'])
        .where('storage_volume_id', 'in', ids)
        .orderBy('id')
        .execute(),
      db
        .selectFrom('storage_volumes_snapshots_config')
        .innerJoin('storage_volumes_snapshots', 'storage_volumes_snapshots.id', 'storage_volumes_snapshots_config.storage_volume_snapshot_id')
        .select(['storage_volumes_snapshots_config.storage_volume_snapshot_id as id', 'storage_volumes_snapshots_config.key', 'storage_volumes_snapshots_config.value'])
        .where('storage_volumes_snapshots.storage_volume_id', 'in', ids)
        .execute(),
    ]);
    const mapOf = (entries: { id: number; key: string; value: string }[], id: number) =>
      Object.fromEntries(entries.filter((c) => c.id === id).map((c) => [c.key, c.value]));
    return rows.map((r) => ({
      ...r,
      config: mapOf(config, r.id),
      snapshots: snapshots
        .filter((s) => s.storage_volume_id === r.id)
        .map((s) => ({ name: s.name, description: s.description, creation_date: s.creation_date, config: mapOf(snapshotConfig, s.id) })),
    }));
  }

  /** Instances and profiles whose disk devices use custom volume `volume` of `pool`. */
  async customVolumeUsers(pool: string, volume: string, project: string): Promise<VolumeUser[]> {
    const db = this.store.db;
    const [instances, profiles] = await Promise.all([
      db
        .selectFrom('instances_devices')
        .innerJoin('instances', 'instances.id', 'instances_devices.instance_id')
        .innerJoin('projects', 'projects.id', 'instances.project_id')
        .innerJoin('instances_devices_config as p', (j) => j.onRef('p.instance_device_id', '=', 'instances_devices.id').on('p.key', '=', 'pool'))
        .innerJoin('instances_devices_config as s', (j) => j.onRef('s.instance_device_id', '=', 'instances_devices.id').on('s.key', '=', 'source'))
        .select(['instances.name', 'projects.name as project'])
        .where('instances_devices.type', '=', 'disk')
        .where('p.value', '=', pool)
        .where('s.value', '=', volume)
        .where('projects.name', '=', project)
        .distinct()
        .execute(),
      db
        .selectFrom('profiles_devices')
        .innerJoin('profiles', 'profiles.id', 'profiles_devices.profile_id')
        .innerJoin('projects', 'projects.id', 'profiles.project_id')
        .innerJoin('profiles_devices_config as p', (j) => j.onRef('p.profile_device_id', '=', 'profiles_devices.id').on('p.key', '=', 'pool'))
        .innerJoin('profiles_devices_config as s', (j) => j.onRef('s.profile_device_id', '=', 'profiles_devices.id').on('s.key', '=', 'source'))
        .select(['profiles.name', 'projects.name as project'])
        .where('profiles_devices.type', '=', 'disk')
        .where('p.value', '=', pool)
        .where('s.value', '=', volume)
        .where('projects.name', '=', project)
        .distinct()
        .execute(),
    ]);
    return [
      ...instances.map((i) => ({ kind: 'instance' as const, ...i })),
      ...profiles.map((p) => ({ kind: 'profile' as const, ...p })),
    ];
  }

  async projectId(project: string): Promise<number | undefined> {
    return (await this.store.db.selectFrom('projects').select('id').where('name', '=', project).executeTakeFirst())?.id;
  }

  transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    return this.store.transaction(fn);
  }

  async insertCustom(tx: Tx, v: NewCustomVolume): Promise<number> {
    const { id } = await tx
      .insertInto('storage_volumes')
      .values({
        name: v.name,
        storage_pool_id: v.poolId,
        node_id: localMember.nodeId,
        type: CUSTOM_VOLUME,
        description: v.description,
        project_id: v.projectId,
        content_type: 0,
        creation_date: v.createdAt,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    await this.writeConfig(tx, id, v.config);
    return id;
  }

  async updateCustom(tx: Tx, id: number, put: { description: string; config: Record<string, string> }): Promise<void> {
    await tx.updateTable('storage_volumes').set({ description: put.description }).where('id', '=', id).execute();
    await tx.deleteFrom('storage_volumes_config').where('storage_volume_id', '=', id).execute();
    await this.writeConfig(tx, id, put.config);
  }

  async rename(id: number, name: string): Promise<void> {
    await this.store.db.updateTable('storage_volumes').set({ name }).where('id', '=', id).execute();
  }

  async delete(id: number): Promise<void> {
    await this.store.db.deleteFrom('storage_volumes').where('id', '=', id).execute();
  }

  async snapshots(volumeId: number): Promise<VolumeSnapshotRow[]> {
    const db = this.store.db;
    const [rows, config] = await Promise.all([
      db
        .selectFrom('storage_volumes_snapshots')
        .select(['id', 'name', 'description', 'creation_date', 'expiry_date'])
        .where('storage_volume_id', '=', volumeId)
        .orderBy('id')
        .execute(),
      db
        .selectFrom('storage_volumes_snapshots_config')
        .innerJoin('storage_volumes_snapshots', 'storage_volumes_snapshots.id', 'storage_volumes_snapshots_config.storage_volume_snapshot_id')
        .select(['storage_volume_snapshot_id as id', 'key', 'value'])
        .where('storage_volumes_snapshots.storage_volume_id', '=', volumeId)
        .execute(),
    ]);
    return rows.map((r) => ({ ...r, config: Object.fromEntries(config.filter((c) => c.id === r.id).map((c) => [c.key, c.value])) }));
  }

  async insertSnapshot(tx: Tx, volumeId: number, s: Omit<VolumeSnapshotRow, 'id'>): Promise<number> {
    const { id } = await tx
      .insertInto('storage_volumes_snapshots')
      .values({ storage_volume_id: volumeId, name: s.name, description: s.description, creation_date: s.creation_date, expiry_date: s.expiry_date })
      .returning('id')
      .executeTakeFirstOrThrow();
    for (const [key, value] of Object.entries(s.config)) {
      await tx.insertInto('storage_volumes_snapshots_config').values({ storage_volume_snapshot_id: id, key, value }).execute();
    }
    return id;
  }

  async renameSnapshot(id: number, name: string): Promise<void> {
    await this.store.db.updateTable('storage_volumes_snapshots').set({ name }).where('id', '=', id).execute();
  }

  async deleteSnapshot(id: number): Promise<void> {
    await this.store.db.deleteFrom('storage_volumes_snapshots').where('id', '=', id).execute();
  }


  async backups(volumeId: number): Promise<VolumeBackupRow[]> {
    return this.store.db
      .selectFrom('storage_volumes_backups')
      .select(['id', 'name', 'creation_date', 'expiry_date', 'volume_only', 'optimized_storage'])
      .where('storage_volume_id', '=', volumeId)
      .orderBy('id')
      .execute();
  }

  async insertBackup(volumeId: number, b: Omit<VolumeBackupRow, 'id'>): Promise<void> {
    await this.store.db.insertInto('storage_volumes_backups').values({ storage_volume_id: volumeId, ...b }).execute();
  }

  async renameBackup(id: number, name: string): Promise<void> {
    await this.store.db.updateTable('storage_volumes_backups').set({ name }).where('id', '=', id).execute();
  }

  async deleteBackup(id: number): Promise<void> {
    await this.store.db.deleteFrom('storage_volumes_backups').where('id', '=', id).execute();
  }

  private async writeConfig(tx: Tx, id: number, config: Record<string, string>): Promise<void> {
    for (const [key, value] of Object.entries(config)) {
      if (value === '') continue;
      await tx.insertInto('storage_volumes_config').values({ storage_volume_id: id, key, value }).execute();
    }
  }
}
