// Instance backups in SQL (instances_backups); the tarballs are files on the member holding the instance.
import { Inject, Injectable } from '@nestjs/common';
import type { Db, Store } from '@lxdts/raft-store';
import { STORE } from '../daemon/tokens.js';

export interface BackupRow {
  id: number;
  instanceId: number;
  name: string;
  createdAt: string;
  expiresAt: string | null;
  instanceOnly: boolean;
  optimizedStorage: boolean;
}

type Raw = { id: number; instance_id: number; name: string; creation_date: string; expiry_date: string | null; container_only: number; optimized_storage: number };

const row = (r: Raw): BackupRow => ({
  id: r.id,
  instanceId: r.instance_id,
  name: r.name,
  createdAt: r.creation_date,
  expiresAt: r.expiry_date,
  instanceOnly: r.container_only === 1,
  optimizedStorage: r.optimized_storage === 1,
});

@Injectable()
export class InstanceBackupsRepository {
  constructor(@Inject(STORE) private readonly store: Store) {}

  get db(): Db {
    return this.store.db;
  }

  async list(instanceId: number, db: Db = this.db): Promise<BackupRow[]> {
    return (await db.selectFrom('instances_backups').selectAll().where('instance_id', '=', instanceId).orderBy('id').execute()).map(row);
  }

  async find(instanceId: number, name: string, db: Db = this.db): Promise<BackupRow | undefined> {
    const r = await db.selectFrom('instances_backups').selectAll().where('instance_id', '=', instanceId).where('name', '=', name).executeTakeFirst();
    return r ? row(r) : undefined;
  }

  async insert(b: Omit<BackupRow, 'id'>, db: Db = this.db): Promise<void> {
    await db
      .insertInto('instances_backups')
      .values({
        instance_id: b.instanceId,
        name: b.name,
        creation_date: b.createdAt,
        expiry_date: b.expiresAt,
        container_only: b.instanceOnly ? 1 : 0,
        optimized_storage: b.optimizedStorage ? 1 : 0,
      })
      .execute();
  }

  async rename(id: number, name: string, db: Db = this.db): Promise<void> {
    await db.updateTable('instances_backups').set({ name }).where('id', '=', id).execute();
  }

  async delete(id: number, db: Db = this.db): Promise<void> {
    await db.deleteFrom('instances_backups').where('id', '=', id).execute();
  }

  /** Backups whose expiry has passed, with their instance's project and name. */
  async expired(now: string, db: Db = this.db): Promise<{ project: string; instance: string; backup: string }[]> {
    return db
      .selectFrom('instances_backups')
      .innerJoin('instances', 'instances.id', 'instances_backups.instance_id')
      .innerJoin('projects', 'projects.id', 'instances.project_id')
      .select(['projects.name as project', 'instances.name as instance', 'instances_backups.name as backup'])
      .where('instances_backups.expiry_date', 'is not', null)
      .where('instances_backups.expiry_date', '<=', now)
      .execute();
  }
}
