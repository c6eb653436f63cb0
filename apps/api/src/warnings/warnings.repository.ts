import { Inject, Injectable } from '@nestjs/common';
import type { Store, Tx } from '@lxdts/raft-store';
import { STORE } from '../daemon/tokens.js';
import { WarningEntityType } from './warning-types.js';

export interface WarningRow {
  id: number;
  uuid: string;
  /** Cluster member name; null for cluster-wide warnings. */
  node: string | null;
  project: string | null;
  entity_type_code: number | null;
  entity_id: number | null;
  type_code: number;
  status: number;
  first_seen_date: string;
  last_seen_date: string;
  updated_date: string | null;
  last_message: string;
  count: number;
}

/** What identifies one warning: the same (member, project, entity, type) is counted, not duplicated. */
export interface WarningKey {
  nodeId: number | null;
  projectId: number | null;
  entityTypeCode: number | null;
  entityId: number | null;
  typeCode: number;
}

@Injectable()
export class WarningsRepository {
  constructor(@Inject(STORE) private readonly store: Store) {}

  private select(db: Store['db'] | Tx = this.store.db) {
    return db
      .selectFrom('warnings')
      .leftJoin('nodes', 'nodes.id', 'warnings.node_id')
      .leftJoin('projects', 'projects.id', 'warnings.project_id')
      .select([
        'warnings.id',
        'warnings.uuid',
        'nodes.name as node',
        'projects.name as project',
        'warnings.entity_type_code',
        'warnings.entity_id',
        'warnings.type_code',
        'warnings.status',
        'warnings.first_seen_date',
        'warnings.last_seen_date',
        'warnings.updated_date',
        'warnings.last_message',
        'warnings.count',
      ]);
  }

  /** All warnings, or only those of `project` when given; oldest first. */
  list(project?: string): Promise<WarningRow[]> {
    let q = this.select();
    if (project !== undefined) q = q.where('projects.name', '=', project);
    return q.orderBy('warnings.id').execute();
  }

  async get(uuid: string): Promise<WarningRow | undefined> {
    return this.select().where('warnings.uuid', '=', uuid).executeTakeFirst();
  }

  async setStatus(uuid: string, status: number, now: string): Promise<void> {
    await this.store.db.updateTable('warnings').set({ status, updated_date: now }).where('uuid', '=', uuid).execute();
  }

  async delete(uuid: string): Promise<boolean> {
    const res = await this.store.db.deleteFrom('warnings').where('uuid', '=', uuid).executeTakeFirst();
    return Number(res.numDeletedRows) > 0;
  }

  async projectId(name: string): Promise<number | undefined> {
    const row = await this.store.db.selectFrom('projects').select('id').where('name', '=', name).executeTakeFirst();
    return row?.id;
  }

  /** Inserts a new warning or bumps the existing one (count, message, last seen; resolved ones become new again). */
  async upsert(key: WarningKey, message: string, now: string, newUuid: string): Promise<string> {
    return this.store.transaction(async (tx) => {
      const existing = await this.matching(tx, key).select(['id', 'uuid', 'status', 'count']).executeTakeFirst();
      if (existing) {
        await tx
          .updateTable('warnings')
          .set({
            last_message: message,
            last_seen_date: now,
            count: existing.count + 1,
            ...(existing.status === 4 ? { status: 1, updated_date: now } : {}),
          })
          .where('id', '=', existing.id)
          .execute();
        return existing.uuid;
      }
      await tx
        .insertInto('warnings')
        .values({
          node_id: key.nodeId,
          project_id: key.projectId,
          entity_type_code: key.entityTypeCode,
          entity_id: key.entityId,
          uuid: newUuid,
          type_code: key.typeCode,
          status: 1,
          first_seen_date: now,
          last_seen_date: now,
          updated_date: null,
          last_message: message,
          count: 1,
        })
        .execute();
      return newUuid;
    });
  }

  /** Marks every matching warning resolved; an undefined part of the key matches anything. */
  async resolve(key: Partial<WarningKey> & { typeCode: number }, now: string): Promise<number> {
    let q = this.store.db.updateTable('warnings').set({ status: 4, updated_date: now }).where('type_code', '=', key.typeCode).where('status', '!=', 4);
    if (key.nodeId !== undefined) q = key.nodeId === null ? q.where('node_id', 'is', null) : q.where('node_id', '=', key.nodeId);
    if (key.projectId !== undefined) q = key.projectId === null ? q.where('project_id', 'is', null) : q.where('project_id', '=', key.projectId);
    if (key.entityTypeCode !== undefined) {
      q = key.entityTypeCode === null ? q.where('entity_type_code', 'is', null) : q.where('entity_type_code', '=', key.entityTypeCode);
    }
    if (key.entityId !== undefined) q = key.entityId === null ? q.where('entity_id', 'is', null) : q.where('entity_id', '=', key.entityId);
    const res = await q.executeTakeFirst();
    return Number(res.numUpdatedRows);
  }

  private matching(tx: Tx, key: WarningKey) {
    let q = tx.selectFrom('warnings').where('type_code', '=', key.typeCode);
    q = key.nodeId === null ? q.where('node_id', 'is', null) : q.where('node_id', '=', key.nodeId);
    q = key.projectId === null ? q.where('project_id', 'is', null) : q.where('project_id', '=', key.projectId);
    q = key.entityTypeCode === null ? q.where('entity_type_code', 'is', null) : q.where('entity_type_code', '=', key.entityTypeCode);
    q = key.entityId === null ? q.where('entity_id', 'is', null) : q.where('entity_id', '=', key.entityId);
    return q;
  }

  /** The API URL of a warning's entity, '' when it has none or it no longer exists. */
  async entityUrl(typeCode: number | null, id: number | null): Promise<string> {
    if (typeCode === null || id === null) return '';
    const db = this.store.db;
    const inProject = (path: string, project: string) => `${path}?project=${encodeURIComponent(project)}`;
    switch (typeCode) {
      case WarningEntityType.Container:
      case WarningEntityType.Instance: {
        const r = await db.selectFrom('instances').innerJoin('projects', 'projects.id', 'instances.project_id')
          .select(['instances.name', 'projects.name as project']).where('instances.id', '=', id).executeTakeFirst();
        return r ? inProject(`/1.0/instances/${encodeURIComponent(r.name)}`, r.project) : '';
      }
      case WarningEntityType.Profile: {
        const r = await db.selectFrom('profiles').innerJoin('projects', 'projects.id', 'profiles.project_id')
          .select(['profiles.name', 'projects.name as project']).where('profiles.id', '=', id).executeTakeFirst();
        return r ? inProject(`/1.0/profiles/${encodeURIComponent(r.name)}`, r.project) : '';
      }
      case WarningEntityType.Network: {
        const r = await db.selectFrom('networks').innerJoin('projects', 'projects.id', 'networks.project_id')
          .select(['networks.name', 'projects.name as project']).where('networks.id', '=', id).executeTakeFirst();
        return r ? inProject(`/1.0/networks/${encodeURIComponent(r.name)}`, r.project) : '';
      }
      case WarningEntityType.Image: {
        const r = await db.selectFrom('images').innerJoin('projects', 'projects.id', 'images.project_id')
          .select(['images.fingerprint', 'projects.name as project']).where('images.id', '=', id).executeTakeFirst();
        return r ? inProject(`/1.0/images/${r.fingerprint}`, r.project) : '';
      }
      case WarningEntityType.Project: {
        const r = await db.selectFrom('projects').select('name').where('id', '=', id).executeTakeFirst();
        return r ? `/1.0/projects/${encodeURIComponent(r.name)}` : '';
      }
      case WarningEntityType.Certificate: {
        const r = await db.selectFrom('certificates').select('fingerprint').where('id', '=', id).executeTakeFirst();
        return r ? `/1.0/certificates/${r.fingerprint}` : '';
      }
      case WarningEntityType.StoragePool: {
        const r = await db.selectFrom('storage_pools').select('name').where('id', '=', id).executeTakeFirst();
        return r ? `/1.0/storage-pools/${encodeURIComponent(r.name)}` : '';
      }
      case WarningEntityType.Node: {
        const r = await db.selectFrom('nodes').select('name').where('id', '=', id).executeTakeFirst();
        return r ? `/1.0/cluster/members/${encodeURIComponent(r.name)}` : '';
      }
      default:
        return '';
    }
  }
}
