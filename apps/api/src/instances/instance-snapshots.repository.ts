// Instance snapshots in SQL: instances_snapshots with their own config and devices (the instance's at the time);
// profiles are the instance's, as LXD's snapshots share them.
import { Inject, Injectable } from '@nestjs/common';
import type { Db, Store, Tx } from '@lxdts/raft-store';
import { STORE } from '../daemon/tokens.js';
import { type Devices, configMap, devicesFromRows } from '../projects/config-rows.js';

export interface SnapshotRow {
  id: number;
  instanceId: number;
  name: string;
  createdAt: string;
  stateful: boolean;
  expiresAt: string | null;
  config: Record<string, string>;
  devices: Devices;
}

export interface NewSnapshot {
  instanceId: number;
  name: string;
  createdAt: string;
  expiresAt: string | null;
  config: Record<string, string>;
  devices: Devices;
}

@Injectable()
export class InstanceSnapshotsRepository {
  constructor(@Inject(STORE) private readonly store: Store) {}

  get db(): Db {
    return this.store.db;
  }

  transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    return this.store.transaction(fn);
  }

  /** An instance's snapshots, oldest first (LXD's order). */
  async list(instanceId: number, db: Db = this.db): Promise<SnapshotRow[]> {
    const rows = await db.selectFrom('instances_snapshots').selectAll().where('instance_id', '=', instanceId).orderBy('creation_date').orderBy('id').execute();
    return this.withDetails(rows, db);
  }

  /** Snapshot counts per instance, for `lxc list`. */
  async listFor(instanceIds: readonly number[], db: Db = this.db): Promise<Map<number, SnapshotRow[]>> {
    const out = new Map<number, SnapshotRow[]>();
    if (instanceIds.length === 0) return out;
    const rows = await db.selectFrom('instances_snapshots').selectAll().where('instance_id', 'in', instanceIds).orderBy('creation_date').orderBy('id').execute();
    for (const s of await this.withDetails(rows, db)) out.set(s.instanceId, [...(out.get(s.instanceId) ?? []), s]);
    return out;
  }

  async find(instanceId: number, name: string, db: Db = this.db): Promise<SnapshotRow | undefined> {
    const rows = await db.selectFrom('instances_snapshots').selectAll().where('instance_id', '=', instanceId).where('name', '=', name).execute();
    return (await this.withDetails(rows, db))[0];
  }

  async insert(tx: Tx, s: NewSnapshot): Promise<number> {
    const { id } = await tx
      .insertInto('instances_snapshots')
      .values({ instance_id: s.instanceId, name: s.name, creation_date: s.createdAt, stateful: 0, description: '', expiry_date: s.expiresAt })
      .returning('id')
      .executeTakeFirstOrThrow();
    const cfg = Object.entries(s.config).filter(([, v]) => v !== '');
    if (cfg.length) await tx.insertInto('instances_snapshots_config').values(cfg.map(([key, value]) => ({ instance_snapshot_id: id, key, value }))).execute();
    for (const [name, dev] of Object.entries(s.devices)) {
      const { id: devId } = await tx
        .insertInto('instances_snapshots_devices')
        .values({ instance_snapshot_id: id, name, type: dev['type'] ?? '' })
        .returning('id')
        .executeTakeFirstOrThrow();
      const entries = Object.entries(dev).filter(([k, v]) => k !== 'type' && v !== '');
      if (entries.length) {
        await tx
          .insertInto('instances_snapshots_devices_config')
          .values(entries.map(([key, value]) => ({ instance_snapshot_device_id: devId, key, value })))
          .execute();
      }
    }
    return id;
  }

  /** Snapshots whose expiry has passed, with their instance's project and name. */
  async expired(now: string, db: Db = this.db): Promise<{ project: string; instance: string; snapshot: string }[]> {
    return db
      .selectFrom('instances_snapshots')
      .innerJoin('instances', 'instances.id', 'instances_snapshots.instance_id')
      .innerJoin('projects', 'projects.id', 'instances.project_id')
      .select(['projects.name as project', 'instances.name as instance', 'instances_snapshots.name as snapshot'])
      .where('instances_snapshots.expiry_date', 'is not', null)
      .where('instances_snapshots.expiry_date', '<=', now)
      .execute() as Promise<{ project: string; instance: string; snapshot: string }[]>;
  }

  async rename(id: number, newName: string, db: Db = this.db): Promise<void> {
    await db.updateTable('instances_snapshots').set({ name: newName }).where('id', '=', id).execute();
  }

  async setExpiry(id: number, expiresAt: string | null, db: Db = this.db): Promise<void> {
    await db.updateTable('instances_snapshots').set({ expiry_date: expiresAt }).where('id', '=', id).execute();
  }

  async delete(id: number, db: Db = this.db): Promise<void> {
    await db.deleteFrom('instances_snapshots').where('id', '=', id).execute();
  }

  private async withDetails(
    rows: { id: number; instance_id: number; name: string; creation_date: string; stateful: number; expiry_date: string | null }[],
    db: Db,
  ): Promise<SnapshotRow[]> {
    if (rows.length === 0) return [];
    const ids = rows.map((r) => r.id);
    const config = await db.selectFrom('instances_snapshots_config').select(['instance_snapshot_id', 'key', 'value']).where('instance_snapshot_id', 'in', ids).execute();
    const devices = await db
      .selectFrom('instances_snapshots_devices')
      .leftJoin('instances_snapshots_devices_config', 'instances_snapshots_devices_config.instance_snapshot_device_id', 'instances_snapshots_devices.id')
      .select([
        'instances_snapshots_devices.instance_snapshot_id as owner',
        'instances_snapshots_devices.name as device',
        'instances_snapshots_devices.type as type',
        'instances_snapshots_devices_config.key as key',
        'instances_snapshots_devices_config.value as value',
      ])
      .where('instances_snapshots_devices.instance_snapshot_id', 'in', ids)
      .execute();
    return rows.map((r) => ({
      id: r.id,
      instanceId: r.instance_id,
      name: r.name,
      createdAt: r.creation_date,
      stateful: r.stateful === 1,
      expiresAt: r.expiry_date,
      config: configMap(config.filter((c) => c.instance_snapshot_id === r.id)),
      devices: devicesFromRows(devices.filter((d) => d.owner === r.id)),
    }));
  }
}
