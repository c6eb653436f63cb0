// The only SQL of instances: rows, config, devices, profile links and the instance's storage volume row.
import { Inject, Injectable } from '@nestjs/common';
import { type Db, ReadCache, type Store, type Tx } from '@lxdts/raft-store';
import type { AgentPoolRef, Devices } from '@lxdts/api-types';
import { STORE } from '../daemon/tokens.js';
import { configMap, devicesFromRows } from '../projects/config-rows.js';
import { localMember } from '../cluster/local-member.js';
import { StoragePoolsRepository } from '../storage-pools/storage-pools.repository.js';

export interface InstanceRow {
  id: number;
  name: string;
  projectId: number;
  project: string;
  type: 'container' | 'virtual-machine';
  architecture: string;
  ephemeral: boolean;
  stateful: boolean;
  description: string;
  createdAt: string;
  lastUsedAt: string | null;
  config: Record<string, string>;
  devices: Devices;
  /** Profile names in apply order. */
  profiles: string[];
  /** The cluster member holding it (`nodes` row). */
  nodeId: number;
  /** That member's name (`none` standalone). */
  location: string;
}

export interface ProfileData {
  name: string;
  config: Record<string, string>;
  devices: Devices;
}

export interface NewInstance {
  name: string;
  projectId: number;
  architecture: string;
  ephemeral: boolean;
  description: string;
  config: Record<string, string>;
  devices: Devices;
  profileIds: number[];
  /** The storage pool holding the root volume. */
  poolId: number;
}

/** LXD architecture ids (shared/osarch). */
const ARCH_IDS: Record<string, number> = { i686: 1, x86_64: 2, armv7l: 3, aarch64: 4, ppc: 5, ppc64: 6, ppc64le: 7, s390x: 8, mips: 9, mips64: 10, riscv32: 11, riscv64: 12 };
const ARCH_NAMES = Object.fromEntries(Object.entries(ARCH_IDS).map(([k, v]) => [v, k])) as Record<number, string>;
/** storage_volumes.type of instance (container) volumes. */
const VOLUME_CONTAINER = 0;

@Injectable()
export class InstancesRepository {
  /** Reads repeated between writes (standalone): an `lxc` command reads its instance, profiles and pool often. */
  private readonly cache: ReadCache;

  constructor(
    @Inject(STORE) private readonly store: Store,
    private readonly pools: StoragePoolsRepository,
  ) {
    this.cache = new ReadCache(store);
  }

  get db(): Db {
    return this.store.db;
  }

  transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    return this.store.transaction(fn);
  }

  async projectId(name: string, db: Db = this.db): Promise<number | undefined> {
    return (await db.selectFrom('projects').select('id').where('name', '=', name).executeTakeFirst())?.id;
  }

  /** All instances, or those of one project, ordered by name. */
  async list(projectId: number | null, db: Db = this.db): Promise<InstanceRow[]> {
    let q = db
      .selectFrom('instances')
      .innerJoin('projects', 'projects.id', 'instances.project_id')
      .innerJoin('nodes', 'nodes.id', 'instances.node_id')
      .selectAll('instances')
      .select(['projects.name as project', 'nodes.name as location']);
    if (projectId !== null) q = q.where('instances.project_id', '=', projectId);
    return this.withDetails(await q.orderBy('instances.name').execute(), db);
  }

  async find(projectId: number, name: string, db: Db = this.db): Promise<InstanceRow | undefined> {
    const rows = await db
      .selectFrom('instances')
      .innerJoin('projects', 'projects.id', 'instances.project_id')
      .innerJoin('nodes', 'nodes.id', 'instances.node_id')
      .selectAll('instances')
      .select(['projects.name as project', 'nodes.name as location'])
      .where('instances.project_id', '=', projectId)
      .where('instances.name', '=', name)
      .execute();
    return (await this.withDetails(rows, db))[0];
  }

  /** One instance by project name and instance name (one query less than projectId + find). */
  findByProjectName(project: string, name: string, db: Db = this.db): Promise<InstanceRow | undefined> {
    return this.cache.get(`instance\0${project}\0${name}`, db, () => this.loadByProjectName(project, name, db));
  }

  private async loadByProjectName(project: string, name: string, db: Db): Promise<InstanceRow | undefined> {
    const rows = await db
      .selectFrom('instances')
      .innerJoin('projects', 'projects.id', 'instances.project_id')
      .innerJoin('nodes', 'nodes.id', 'instances.node_id')
      .selectAll('instances')
      .select(['projects.name as project', 'nodes.name as location'])
      .where('projects.name', '=', project)
      .where('instances.name', '=', name)
      .execute();
    return (await this.withDetails(rows, db))[0];
  }

  async memberAddress(nodeId: number, db: Db = this.db): Promise<string | undefined> {
    return (await db.selectFrom('nodes').select('address').where('id', '=', nodeId).executeTakeFirst())?.address;
  }

  /** Which member holds an instance (for forwarding requests about it), or undefined when there is none. */
  async holder(project: string, name: string, db: Db = this.db): Promise<{ nodeId: number; name: string; address: string } | undefined> {
    return db
      .selectFrom('instances')
      .innerJoin('projects', 'projects.id', 'instances.project_id')
      .innerJoin('nodes', 'nodes.id', 'instances.node_id')
      .select(['nodes.id as nodeId', 'nodes.name as name', 'nodes.address as address'])
      .where('projects.name', '=', project)
      .where('instances.name', '=', name)
      .executeTakeFirst();
  }

  /** Profiles by name within a project's profile store; unknown names are simply absent. */
  profiles(profileProjectId: number, names: readonly string[], db: Db = this.db): Promise<Map<string, ProfileData & { id: number }>> {
    return this.cache.get(`profiles\0${profileProjectId}\0${names.join('\0')}`, db, () => this.loadProfiles(profileProjectId, names, db));
  }

  private async loadProfiles(profileProjectId: number, names: readonly string[], db: Db): Promise<Map<string, ProfileData & { id: number }>> {
    const out = new Map<string, ProfileData & { id: number }>();
    if (names.length === 0) return out;
    const rows = await db.selectFrom('profiles').select(['id', 'name']).where('project_id', '=', profileProjectId).where('name', 'in', names).execute();
    if (rows.length === 0) return out;
    const ids = rows.map((r) => r.id);
    const config = await db.selectFrom('profiles_config').select(['profile_id', 'key', 'value']).where('profile_id', 'in', ids).execute();
    const devices = await db
      .selectFrom('profiles_devices')
      .leftJoin('profiles_devices_config', 'profiles_devices_config.profile_device_id', 'profiles_devices.id')
      .select(['profiles_devices.profile_id as owner', 'profiles_devices.name as device', 'profiles_devices.type as type', 'profiles_devices_config.key as key', 'profiles_devices_config.value as value'])
      .where('profiles_devices.profile_id', 'in', ids)
      .execute();
    for (const r of rows) {
      out.set(r.name, {
        id: r.id,
        name: r.name,
        config: configMap(config.filter((c) => c.profile_id === r.id)),
        devices: devicesFromRows(devices.filter((d) => d.owner === r.id)),
      });
    }
    return out;
  }

  async profileNames(profileProjectId: number, db: Db = this.db): Promise<string[]> {
    return (await db.selectFrom('profiles').select('name').where('project_id', '=', profileProjectId).execute()).map((r) => r.name);
  }

  async poolId(name: string, db: Db = this.db): Promise<number | undefined> {
    return (await db.selectFrom('storage_pools').select('id').where('name', '=', name).executeTakeFirst())?.id;
  }

  /** Where the pool's volumes live on this member and its driver, for the agent; undefined for an unknown pool. */
  pool(name: string, db: Db = this.db): Promise<AgentPoolRef | undefined> {
    return this.cache.get(`pool\0${name}`, db, () => this.pools.agentRef(name, db));
  }

  /** The directory holding the pool's volumes on this member. */
  async poolSource(name: string, db: Db = this.db): Promise<string | undefined> {
    return (await this.pool(name, db))?.poolSource;
  }

  async customVolumeExists(pool: string, project: string, name: string, db: Db = this.db): Promise<boolean> {
    const row = await db
      .selectFrom('storage_volumes')
      .innerJoin('storage_pools', 'storage_pools.id', 'storage_volumes.storage_pool_id')
      .innerJoin('projects', 'projects.id', 'storage_volumes.project_id')
      .select('storage_volumes.id')
      .where('storage_pools.name', '=', pool)
      .where('projects.name', '=', project)
      .where('storage_volumes.name', '=', name)
      .where('storage_volumes.type', '=', 2)
      .executeTakeFirst();
    return row !== undefined;
  }

  async poolNames(db: Db = this.db): Promise<Set<string>> {
    return new Set((await db.selectFrom('storage_pools').select('name').execute()).map((r) => r.name));
  }

  /** The project whose networks `project` uses: itself with `features.networks`, else default. */
  private async networksOwner(project: string, db: Db): Promise<string> {
    const features = await db
      .selectFrom('projects')
      .leftJoin('projects_config', (j) => j.onRef('projects_config.project_id', '=', 'projects.id').on('projects_config.key', '=', 'features.networks'))
      .select('projects_config.value')
      .where('projects.name', '=', project)
      .executeTakeFirst();
    return features?.value === 'true' ? project : 'default';
  }

  /** A managed network's type and config, in the project whose networks the instance's project uses. */
  async managedNetwork(project: string, name: string, db: Db = this.db): Promise<{ type: string; config: Record<string, string> } | undefined> {
    const owner = await this.networksOwner(project, db);
    const rows = await db
      .selectFrom('networks')
      .innerJoin('projects', 'projects.id', 'networks.project_id')
      .leftJoin('networks_config', 'networks_config.network_id', 'networks.id')
      .select(['networks.type', 'networks_config.key', 'networks_config.value'])
      .where('projects.name', '=', owner)
      .where('networks.name', '=', name)
      .execute();
    if (rows.length === 0) return undefined;
    const config: Record<string, string> = {};
    for (const r of rows) if (r.key !== null && r.value !== null) config[r.key] = r.value;
    return { type: (rows[0] as { type: string }).type, config };
  }

  async networkTypes(projectId: number, db: Db = this.db): Promise<Map<string, string>> {
    const rows = await db.selectFrom('networks').select(['name', 'type']).where('project_id', '=', projectId).execute();
    return new Map(rows.map((r) => [r.name, r.type]));
  }

  async insert(tx: Tx, inst: NewInstance): Promise<number> {
    const { id } = await tx
      .insertInto('instances')
      .values({
        node_id: localMember.nodeId,
        name: inst.name,
        type: 0,
        architecture: ARCH_IDS[inst.architecture] ?? 0,
        ephemeral: inst.ephemeral ? 1 : 0,
        creation_date: new Date().toISOString(),
        stateful: 0,
        last_use_date: null,
        description: inst.description,
        project_id: inst.projectId,
        expiry_date: null,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    await this.writeDetails(tx, id, inst.config, inst.devices, inst.profileIds);
    await tx
      .insertInto('storage_volumes')
      .values({
        name: inst.name,
        storage_pool_id: inst.poolId,
        node_id: localMember.nodeId,
        type: VOLUME_CONTAINER,
        description: '',
        project_id: inst.projectId,
        content_type: 0,
        creation_date: new Date().toISOString(),
      })
      .execute();
    return id;
  }

  /** Replaces config, devices and profiles (PUT semantics; PATCH merges before calling). */
  async update(tx: Tx, id: number, put: { config: Record<string, string>; devices: Devices; profileIds: number[]; description: string; ephemeral: boolean }): Promise<void> {
    await tx.updateTable('instances').set({ description: put.description, ephemeral: put.ephemeral ? 1 : 0 }).where('id', '=', id).execute();
    await tx.deleteFrom('instances_config').where('instance_id', '=', id).execute();
    await tx.deleteFrom('instances_devices').where('instance_id', '=', id).execute();
    await tx.deleteFrom('instances_profiles').where('instance_id', '=', id).execute();
    await this.writeDetails(tx, id, put.config, put.devices, put.profileIds);
  }

  /** Sets (or with '' removes) config keys, e.g. volatile.* state. */
  async setConfig(id: number, changes: Record<string, string>, db: Db = this.db): Promise<void> {
    for (const [key, value] of Object.entries(changes)) {
      await db.deleteFrom('instances_config').where('instance_id', '=', id).where('key', '=', key).execute();
      if (value !== '') await db.insertInto('instances_config').values({ instance_id: id, key, value }).execute();
    }
  }

  async touch(id: number, db: Db = this.db): Promise<void> {
    await db.updateTable('instances').set({ last_use_date: new Date().toISOString() }).where('id', '=', id).execute();
  }

  async rename(tx: Tx, row: InstanceRow, newName: string): Promise<void> {
    await tx.updateTable('instances').set({ name: newName }).where('id', '=', row.id).execute();
    await tx
      .updateTable('storage_volumes')
      .set({ name: newName })
      .where('project_id', '=', row.projectId)
      .where('name', '=', row.name)
      .where('type', '=', VOLUME_CONTAINER)
      .execute();
  }

  async delete(tx: Tx, row: InstanceRow): Promise<void> {
    await tx.deleteFrom('instances').where('id', '=', row.id).execute();
    await tx
      .deleteFrom('storage_volumes')
      .where('project_id', '=', row.projectId)
      .where('name', '=', row.name)
      .where('type', '=', VOLUME_CONTAINER)
      .execute();
  }

  private async writeDetails(tx: Tx, id: number, config: Record<string, string>, devices: Devices, profileIds: number[]): Promise<void> {
    const cfg = Object.entries(config).filter(([, v]) => v !== '');
    if (cfg.length) await tx.insertInto('instances_config').values(cfg.map(([key, value]) => ({ instance_id: id, key, value }))).execute();
    for (const [name, dev] of Object.entries(devices)) {
      const { id: devId } = await tx
        .insertInto('instances_devices')
        .values({ instance_id: id, name, type: dev['type'] ?? '' })
        .returning('id')
        .executeTakeFirstOrThrow();
      const entries = Object.entries(dev).filter(([k, v]) => k !== 'type' && v !== '');
      if (entries.length) {
        await tx.insertInto('instances_devices_config').values(entries.map(([key, value]) => ({ instance_device_id: devId, key, value }))).execute();
      }
    }
    if (profileIds.length) {
      await tx.insertInto('instances_profiles').values(profileIds.map((profile_id, i) => ({ instance_id: id, profile_id, apply_order: i }))).execute();
    }
  }

  private async withDetails(
    rows: { id: number; name: string; project_id: number; project: string; node_id: number; location: string; type: number; architecture: number; ephemeral: number; stateful: number; description: string; creation_date: string; last_use_date: string | null }[],
    db: Db,
  ): Promise<InstanceRow[]> {
    if (rows.length === 0) return [];
    const ids = rows.map((r) => r.id);
    const config = await db.selectFrom('instances_config').select(['instance_id', 'key', 'value']).where('instance_id', 'in', ids).execute();
    const devices = await db
      .selectFrom('instances_devices')
      .leftJoin('instances_devices_config', 'instances_devices_config.instance_device_id', 'instances_devices.id')
      .select(['instances_devices.instance_id as owner', 'instances_devices.name as device', 'instances_devices.type as type', 'instances_devices_config.key as key', 'instances_devices_config.value as value'])
      .where('instances_devices.instance_id', 'in', ids)
      .execute();
    const profiles = await db
      .selectFrom('instances_profiles')
      .innerJoin('profiles', 'profiles.id', 'instances_profiles.profile_id')
      .select(['instances_profiles.instance_id as owner', 'profiles.name as name'])
      .where('instances_profiles.instance_id', 'in', ids)
      .orderBy('instances_profiles.apply_order')
      .execute();
    return rows.map((r) => ({
      id: r.id,
      name: r.name,
      projectId: r.project_id,
      project: r.project,
      type: r.type === 1 ? 'virtual-machine' : 'container',
      architecture: ARCH_NAMES[r.architecture] ?? 'unknown',
      ephemeral: r.ephemeral === 1,
      stateful: r.stateful === 1,
      description: r.description,
      createdAt: r.creation_date,
      lastUsedAt: r.last_use_date,
      config: configMap(config.filter((c) => c.instance_id === r.id)),
      devices: devicesFromRows(devices.filter((d) => d.owner === r.id)),
      profiles: profiles.filter((p) => p.owner === r.id).map((p) => p.name),
      nodeId: r.node_id,
      location: r.location,
    }));
  }
}
