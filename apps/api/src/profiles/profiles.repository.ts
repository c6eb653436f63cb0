import { Inject, Injectable } from '@nestjs/common';
import type { ProfilePut } from '@lxdts/api-types';
import type { Db, Store, Tx } from '@lxdts/raft-store';
import { STORE } from '../daemon/tokens.js';
import { apiUrl } from '../projects/api-url.js';
import { configMap, devicesFromRows } from '../projects/config-rows.js';
import { type ProfileDependent, rootDiskOf } from './root-disk-guard.js';

export interface ProfileRow extends ProfilePut {
  id: number;
  name: string;
  projectId: number;
}

@Injectable()
export class ProfilesRepository {
  constructor(@Inject(STORE) private readonly store: Store) {}

  get db(): Db {
    return this.store.db;
  }

  /** Runs reads and writes of one request in a single transaction, so checks and changes see the same state. */
  transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    return this.store.transaction(fn);
  }

  async list(projectId: number, db: Db = this.db): Promise<ProfileRow[]> {
    const rows = await db.selectFrom('profiles').selectAll().where('project_id', '=', projectId).orderBy('name').execute();
    return this.withDetails(rows, db);
  }

  async find(projectId: number, name: string, db: Db = this.db): Promise<ProfileRow | undefined> {
    const rows = await db.selectFrom('profiles').selectAll().where('project_id', '=', projectId).where('name', '=', name).execute();
    return (await this.withDetails(rows, db))[0];
  }

  /** Whether the project's profile store has `name` (one query: clustered, every query is a trip to the leader). */
  async exists(projectId: number, name: string, db: Db = this.db): Promise<boolean> {
    return (await db.selectFrom('profiles').select('id').where('project_id', '=', projectId).where('name', '=', name).executeTakeFirst()) !== undefined;
  }

  async create(tx: Tx, projectId: number, name: string, put: ProfilePut): Promise<number> {
    const { id } = await tx
      .insertInto('profiles')
      .values({ name, description: put.description, project_id: projectId })
      .returning('id')
      .executeTakeFirstOrThrow();
    await this.writeDetails(tx, id, put);
    return id;
  }

  /** Replaces description, config and devices. */
  async replace(tx: Tx, id: number, put: ProfilePut): Promise<void> {
    await tx.updateTable('profiles').set({ description: put.description }).where('id', '=', id).execute();
    await tx.deleteFrom('profiles_config').where('profile_id', '=', id).execute();
    await tx.deleteFrom('profiles_devices').where('profile_id', '=', id).execute();
    await this.writeDetails(tx, id, put);
  }

  async rename(tx: Tx, id: number, name: string): Promise<void> {
    await tx.updateTable('profiles').set({ name }).where('id', '=', id).execute();
  }

  async delete(tx: Tx, id: number): Promise<void> {
    await tx.deleteFrom('profiles').where('id', '=', id).execute();
  }

  /** URLs of the instances using each profile (`?project=` for instances outside the default project). */
  async usedBy(profileIds: readonly number[], db: Db = this.db): Promise<Map<number, string[]>> {
    const out = new Map<number, string[]>(profileIds.map((id) => [id, []]));
    if (profileIds.length === 0) return out;
    const rows = await db
      .selectFrom('instances_profiles')
      .innerJoin('instances', 'instances.id', 'instances_profiles.instance_id')
      .innerJoin('projects', 'projects.id', 'instances.project_id')
      .select(['instances_profiles.profile_id as profile', 'instances.name as instance', 'projects.name as project'])
      .where('instances_profiles.profile_id', 'in', [...profileIds])
      .orderBy('projects.name')
      .orderBy('instances.name')
      .execute();
    for (const r of rows) out.get(r.profile)?.push(apiUrl(['instances', r.instance], r.project));
    return out;
  }

  /** The instances using a profile, with what decides where their root disk comes from. */
  async dependents(profileId: number, db: Db = this.db): Promise<ProfileDependent[]> {
    const users = await db
      .selectFrom('instances_profiles')
      .innerJoin('instances', 'instances.id', 'instances_profiles.instance_id')
      .select(['instances.id as id', 'instances.name as name'])
      .where('instances_profiles.profile_id', '=', profileId)
      .execute();
    if (users.length === 0) return [];
    const ids = users.map((u) => u.id);
    const [devices, links] = await Promise.all([
      db
        .selectFrom('instances_devices')
        .leftJoin('instances_devices_config', 'instances_devices_config.instance_device_id', 'instances_devices.id')
        .select([
          'instances_devices.instance_id as owner',
          'instances_devices.name as device',
          'instances_devices.type as type',
          'instances_devices_config.key as key',
          'instances_devices_config.value as value',
        ])
        .where('instances_devices.instance_id', 'in', ids)
        .execute(),
      db
        .selectFrom('instances_profiles')
        .select(['instance_id', 'profile_id'])
        .where('instance_id', 'in', ids)
        .orderBy('apply_order')
        .execute(),
    ]);
    const profileIds = [...new Set(links.map((l) => l.profile_id))];
    const names = await db.selectFrom('profiles_devices').select(['profile_id', 'name']).where('profile_id', 'in', profileIds).execute();
    return users.map((u) => ({
      instance: u.name,
      ownRootPool: (rootDiskOf(devicesFromRows(devices.filter((d) => d.owner === u.id)))?.pool ?? '') !== '',
      profiles: links
        .filter((l) => l.instance_id === u.id)
        .map((l) => ({ id: l.profile_id, deviceNames: names.filter((n) => n.profile_id === l.profile_id).map((n) => n.name) })),
    }));
  }

  async poolNames(db: Db = this.db): Promise<Set<string>> {
    const rows = await db.selectFrom('storage_pools').select('name').execute();
    return new Set(rows.map((r) => r.name));
  }

  /** Managed networks of a project: name → type. */
  async networkTypes(projectId: number, db: Db = this.db): Promise<Map<string, string>> {
    const rows = await db.selectFrom('networks').select(['name', 'type']).where('project_id', '=', projectId).execute();
    return new Map(rows.map((r) => [r.name, r.type]));
  }

  private async withDetails(
    rows: readonly { id: number; name: string; description: string; project_id: number }[],
    db: Db,
  ): Promise<ProfileRow[]> {
    if (rows.length === 0) return [];
    const ids = rows.map((r) => r.id);
    const [config, devices] = await Promise.all([
      db.selectFrom('profiles_config').select(['profile_id', 'key', 'value']).where('profile_id', 'in', ids).execute(),
      db
        .selectFrom('profiles_devices')
        .leftJoin('profiles_devices_config', 'profiles_devices_config.profile_device_id', 'profiles_devices.id')
        .select([
          'profiles_devices.profile_id as owner',
          'profiles_devices.name as device',
          'profiles_devices.type as type',
          'profiles_devices_config.key as key',
          'profiles_devices_config.value as value',
        ])
        .where('profiles_devices.profile_id', 'in', ids)
        .execute(),
    ]);
    return rows.map((r) => ({
      id: r.id,
      name: r.name,
      projectId: r.project_id,
      config: configMap(config.filter((c) => c.profile_id === r.id)),
      description: r.description,
      devices: devicesFromRows(devices.filter((d) => d.owner === r.id)),
    }));
  }

  private async writeDetails(tx: Tx, profileId: number, put: ProfilePut): Promise<void> {
    // An empty value means unset, as LXD stores no empty config values.
    const config = Object.entries(put.config)
      .filter(([, value]) => value !== '')
      .map(([key, value]) => ({ profile_id: profileId, key, value }));
    if (config.length) await tx.insertInto('profiles_config').values(config).execute();
    for (const [name, device] of Object.entries(put.devices)) {
      const { id } = await tx
        .insertInto('profiles_devices')
        .values({ profile_id: profileId, name, type: device['type'] ?? '' })
        .returning('id')
        .executeTakeFirstOrThrow();
      const options = Object.entries(device)
        .filter(([key, value]) => key !== 'type' && value !== '')
        .map(([key, value]) => ({ profile_device_id: id, key, value }));
      if (options.length) await tx.insertInto('profiles_devices_config').values(options).execute();
    }
  }
}
