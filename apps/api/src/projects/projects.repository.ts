import { Inject, Injectable } from '@nestjs/common';
import { type Db, ReadCache, type Store, type Tx } from '@lxdts/raft-store';
import { STORE } from '../daemon/tokens.js';
import { apiUrl } from './api-url.js';
import { configMap, devicesFromRows } from './config-rows.js';
import type { InstanceRecord, ProfileRecord, ProjectInventory } from './project-usage.js';

export interface ProjectRow {
  id: number;
  name: string;
  description: string;
  /** Sorted by key. */
  config: Record<string, string>;
}

/** LXD's networkCreated state of the networks table. */
const NETWORK_CREATED = 1;
/** storage_volumes.type of custom volumes. */
const VOLUME_CUSTOM = 2;

const byName = <T extends { name: string }>(a: T, b: T): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

@Injectable()
export class ProjectsRepository {
  /** Reads repeated between writes (standalone): every instance request reads its project. */
  private readonly cache: ReadCache;

  constructor(@Inject(STORE) private readonly store: Store) {
    this.cache = new ReadCache(store);
  }

  get db(): Db {
    return this.store.db;
  }

  /** Runs reads and writes of one request in a single transaction, so checks and changes see the same state. */
  transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    return this.store.transaction(fn);
  }

  /** One query (a left join): clustered, every query is a round trip to the database leader. */
  find(name: string, db: Db = this.db): Promise<ProjectRow | undefined> {
    return this.cache.get(`project\0${name}`, db, () => this.load(name, db));
  }

  private async load(name: string, db: Db): Promise<ProjectRow | undefined> {
    const rows = await db
      .selectFrom('projects')
      .leftJoin('projects_config', 'projects_config.project_id', 'projects.id')
      .selectAll('projects')
      .select(['projects_config.key', 'projects_config.value'])
      .where('projects.name', '=', name)
      .execute();
    const first = rows[0];
    if (!first) return undefined;
    const config = rows.filter((r) => r.key !== null).map((r) => ({ key: r.key as string, value: r.value as string }));
    return { id: first.id, name: first.name, description: first.description, config: configMap(config) };
  }

  async list(db: Db = this.db): Promise<ProjectRow[]> {
    const rows = await db.selectFrom('projects').selectAll().orderBy('name').execute();
    const config = await db.selectFrom('projects_config').select(['project_id', 'key', 'value']).execute();
    return rows.map((r) => ({ ...r, config: configMap(config.filter((c) => c.project_id === r.id)) }));
  }

  async create(tx: Tx, project: { name: string; description: string; config: Record<string, string> }): Promise<number> {
    const { id } = await tx
      .insertInto('projects')
      .values({ name: project.name, description: project.description })
      .returning('id')
      .executeTakeFirstOrThrow();
    await this.writeConfig(tx, id, project.config);
    return id;
  }

  async update(tx: Tx, id: number, put: { description: string; config: Record<string, string> }): Promise<void> {
    await tx.updateTable('projects').set({ description: put.description }).where('id', '=', id).execute();
    await tx.deleteFrom('projects_config').where('project_id', '=', id).execute();
    await this.writeConfig(tx, id, put.config);
  }

  async rename(tx: Tx, id: number, name: string): Promise<void> {
    await tx.updateTable('projects').set({ name }).where('id', '=', id).execute();
  }

  /** Deletes the project; its config, profiles and certificate links go with it (ON DELETE CASCADE). */
  async delete(tx: Tx, id: number): Promise<void> {
    await tx.deleteFrom('projects').where('id', '=', id).execute();
  }

  /** The project's own empty `default` profile (a project with features.profiles=true needs one). */
  async createDefaultProfile(tx: Tx, project: { id: number; name: string }): Promise<void> {
    await tx
      .insertInto('profiles')
      .values({ name: 'default', description: `Default LXD profile for project ${project.name}`, project_id: project.id })
      .execute();
  }

  async deleteDefaultProfile(tx: Tx, projectId: number): Promise<void> {
    await tx.deleteFrom('profiles').where('project_id', '=', projectId).where('name', '=', 'default').execute();
  }

  /**
   * A project with its own profiles but the default project's images: those images carry the new default profile,
   * as they would carry the default project's one.
   */
  async linkDefaultImagesToProfile(tx: Tx, projectId: number): Promise<void> {
    const profile = await tx
      .selectFrom('profiles')
      .select('id')
      .where('project_id', '=', projectId)
      .where('name', '=', 'default')
      .executeTakeFirst();
    if (!profile) return;
    const images = await tx
      .selectFrom('images')
      .innerJoin('projects', 'projects.id', 'images.project_id')
      .select('images.id')
      .where('projects.name', '=', 'default')
      .execute();
    for (const image of images) {
      await tx.insertInto('images_profiles').values({ image_id: image.id, profile_id: profile.id }).onConflict((oc) => oc.doNothing()).execute();
    }
  }

  /** Config of a network of the default project (uplinks live there), or undefined if there is no such network. */
  async uplinkConfig(name: string, db: Db = this.db): Promise<Record<string, string> | undefined> {
    const network = await db
      .selectFrom('networks')
      .innerJoin('projects', 'projects.id', 'networks.project_id')
      .select('networks.id')
      .where('projects.name', '=', 'default')
      .where('networks.name', '=', name)
      .executeTakeFirst();
    if (!network) return undefined;
    const config = await db.selectFrom('networks_config').select(['key', 'value']).where('network_id', '=', network.id).execute();
    return configMap(config);
  }

  /** URLs of everything in the project, in LXD's order: instances, profiles, images, custom volumes, networks. */
  async usedBy(project: { id: number; name: string }, db: Db = this.db): Promise<string[]> {
    const [instances, profiles, images, volumes, networks] = await Promise.all([
      db.selectFrom('instances').select('name').where('project_id', '=', project.id).orderBy('name').execute(),
      db.selectFrom('profiles').select('name').where('project_id', '=', project.id).orderBy('name').execute(),
      db.selectFrom('images').select('fingerprint').where('project_id', '=', project.id).orderBy('fingerprint').execute(),
      db
        .selectFrom('storage_volumes')
        .innerJoin('storage_pools', 'storage_pools.id', 'storage_volumes.storage_pool_id')
        .leftJoin('nodes', 'nodes.id', 'storage_volumes.node_id')
        .select(['storage_volumes.name as name', 'storage_pools.name as pool', 'nodes.name as node'])
        .where('storage_volumes.project_id', '=', project.id)
        .where('storage_volumes.type', '=', VOLUME_CUSTOM)
        .orderBy('storage_pools.name')
        .orderBy('storage_volumes.name')
        .execute(),
      db.selectFrom('networks').select('name').where('project_id', '=', project.id).orderBy('name').execute(),
    ]);
    const p = project.name;
    return [
      ...instances.map((i) => apiUrl(['instances', i.name], p)),
      ...profiles.map((r) => apiUrl(['profiles', r.name], p)),
      ...images.map((i) => apiUrl(['images', i.fingerprint], p)),
      ...volumes.map((v) => apiUrl(['storage-pools', v.pool, 'volumes', 'custom', v.name], p, v.node ?? '')),
      ...networks.map((n) => apiUrl(['networks', n.name], p)),
    ];
  }

  /** True when the project holds nothing but (possibly) its own default profile. */
  async isEmpty(projectId: number, db: Db = this.db): Promise<boolean> {
    const count = async (q: Promise<{ n: number | string | bigint } | undefined>): Promise<number> => Number((await q)?.n ?? 0);
    const [instances, images, volumes, networks] = await Promise.all([
      count(db.selectFrom('instances').select((eb) => eb.fn.countAll().as('n')).where('project_id', '=', projectId).executeTakeFirst()),
      count(db.selectFrom('images').select((eb) => eb.fn.countAll().as('n')).where('project_id', '=', projectId).executeTakeFirst()),
      count(
        db
          .selectFrom('storage_volumes')
          .select((eb) => eb.fn.countAll().as('n'))
          .where('project_id', '=', projectId)
          .where('type', '=', VOLUME_CUSTOM)
          .executeTakeFirst(),
      ),
      count(db.selectFrom('networks').select((eb) => eb.fn.countAll().as('n')).where('project_id', '=', projectId).executeTakeFirst()),
    ]);
    if (instances + images + volumes + networks > 0) return false;
    const profiles = await db.selectFrom('profiles').select('name').where('project_id', '=', projectId).execute();
    return profiles.length === 0 || (profiles.length === 1 && profiles[0]!.name === 'default');
  }

  /** Instances, profiles, custom volumes and networks of a project, for its usage and limit checks. */
  async inventory(projectId: number, db: Db = this.db): Promise<ProjectInventory> {
    const instances = await db.selectFrom('instances').select(['id', 'name', 'type']).where('project_id', '=', projectId).orderBy('name').execute();
    const ids = instances.map((i) => i.id);
    const [config, devices, links] = ids.length
      ? await Promise.all([
          db.selectFrom('instances_config').select(['instance_id', 'key', 'value']).where('instance_id', 'in', ids).execute(),
          db
            .selectFrom('instances_devices')
            .leftJoin('instances_devices_config', 'instances_devices_config.instance_device_id', 'instances_devices.id')
            .select(['instances_devices.instance_id as owner', 'instances_devices.name as device', 'instances_devices.type as type',
              'instances_devices_config.key as key', 'instances_devices_config.value as value'])
            .where('instances_devices.instance_id', 'in', ids)
            .execute(),
          db
            .selectFrom('instances_profiles')
            .select(['instance_id', 'profile_id'])
            .where('instance_id', 'in', ids)
            .orderBy('instance_id')
            .orderBy('apply_order')
            .execute(),
        ])
      : [[], [], []];
    const own = await db.selectFrom('profiles').select('id').where('project_id', '=', projectId).execute();
    const profileIds = [...new Set([...own.map((p) => p.id), ...links.map((l) => l.profile_id)])];
    const records: InstanceRecord[] = instances.map((inst) => ({
      name: inst.name,
      type: inst.type,
      config: configMap(config.filter((c) => c.instance_id === inst.id)),
      devices: devicesFromRows(devices.filter((d) => d.owner === inst.id)),
      profileIds: links.filter((l) => l.instance_id === inst.id).map((l) => l.profile_id),
    }));
    const volumes = await db
      .selectFrom('storage_volumes')
      .leftJoin('storage_volumes_config', (join) =>
        join.onRef('storage_volumes_config.storage_volume_id', '=', 'storage_volumes.id').on('storage_volumes_config.key', '=', 'size'),
      )
      .select(['storage_volumes.name as name', 'storage_volumes_config.value as size'])
      .where('storage_volumes.project_id', '=', projectId)
      .where('storage_volumes.type', '=', VOLUME_CUSTOM)
      .orderBy('storage_volumes.name')
      .execute();
    const networks = await db
      .selectFrom('networks')
      .select((eb) => eb.fn.countAll().as('n'))
      .where('project_id', '=', projectId)
      .where('state', '=', NETWORK_CREATED)
      .executeTakeFirst();
    return {
      instances: records,
      profiles: await this.profileRecords(profileIds, db),
      volumes: volumes.map((v) => ({ name: v.name, size: v.size ?? undefined })),
      createdNetworks: Number(networks?.n ?? 0),
    };
  }

  private async profileRecords(ids: number[], db: Db): Promise<Map<number, ProfileRecord>> {
    const out = new Map<number, ProfileRecord>();
    if (ids.length === 0) return out;
    const [profiles, config, devices] = await Promise.all([
      db.selectFrom('profiles').select(['id', 'name']).where('id', 'in', ids).execute(),
      db.selectFrom('profiles_config').select(['profile_id', 'key', 'value']).where('profile_id', 'in', ids).execute(),
      db
        .selectFrom('profiles_devices')
        .leftJoin('profiles_devices_config', 'profiles_devices_config.profile_device_id', 'profiles_devices.id')
        .select(['profiles_devices.profile_id as owner', 'profiles_devices.name as device', 'profiles_devices.type as type',
          'profiles_devices_config.key as key', 'profiles_devices_config.value as value'])
        .where('profiles_devices.profile_id', 'in', ids)
        .execute(),
    ]);
    for (const p of profiles.sort(byName)) {
      out.set(p.id, {
        id: p.id,
        name: p.name,
        config: configMap(config.filter((c) => c.profile_id === p.id)),
        devices: devicesFromRows(devices.filter((d) => d.owner === p.id)),
      });
    }
    return out;
  }

  private async writeConfig(tx: Tx, projectId: number, config: Record<string, string>): Promise<void> {
    // An empty value means unset, as LXD stores no empty config values.
    const rows = Object.entries(config)
      .filter(([, value]) => value !== '')
      .map(([key, value]) => ({ project_id: projectId, key, value }));
    if (rows.length) await tx.insertInto('projects_config').values(rows).execute();
  }
}
