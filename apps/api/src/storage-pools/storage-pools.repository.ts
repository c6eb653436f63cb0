import { Inject, Injectable } from '@nestjs/common';
import type { AgentPoolRef } from '@lxdts/api-types';
import type { Db, Store, Tx } from '@lxdts/raft-store';
import { localMember } from '../cluster/local-member.js';
import { STORE } from '../daemon/tokens.js';

export interface PoolRow {
  id: number;
  name: string;
  driver: string;
  description: string;
  /** 0 pending, 1 created, 2 errored. */
  state: number;
}

export interface PoolConfigEntry {
  key: string;
  value: string;
  /** null: every member; else the member the value belongs to. */
  nodeId: number | null;
}

export interface NewPool {
  name: string;
  driver: string;
  description: string;
  state: number;
  config: PoolConfigEntry[];
  /** Members the pool is defined on, with their state. */
  nodes: { nodeId: number; state: number }[];
}

export interface PoolReferences {
  profiles: { name: string; project: string }[];
  /** type: 0 container, 1 image, 2 custom, 3 virtual-machine. */
  volumes: { name: string; type: number; project: string }[];
  snapshots: { volume: string; snapshot: string; type: number; project: string }[];
}

/** Image volumes (type 1) are caches the pool deletes with itself; they do not keep it in use. */
const IMAGE_VOLUME = 1;

@Injectable()
export class StoragePoolsRepository {
  constructor(@Inject(STORE) private readonly store: Store) {}

  /** Where the pool's volumes live on this member and its driver, for the agent; undefined for an unknown pool. */
  async agentRef(name: string, db: Db = this.store.db): Promise<AgentPoolRef | undefined> {
    const rows = await db
      .selectFrom('storage_pools_config')
      .innerJoin('storage_pools', 'storage_pools.id', 'storage_pools_config.storage_pool_id')
      .select(['storage_pools_config.key', 'storage_pools_config.value', 'storage_pools.driver'])
      .where('storage_pools.name', '=', name)
      // A btrfs pool's volumes are under its mount point; a dir pool's under its source.
      .where('storage_pools_config.key', 'in', ['source', 'lxdts.volumes'])
      // Each member has its own source; a pool-wide one (node_id NULL) otherwise.
      .where((eb) => eb.or([eb('storage_pools_config.node_id', '=', localMember.nodeId), eb('storage_pools_config.node_id', 'is', null)]))
      .orderBy('storage_pools_config.node_id', 'desc')
      .execute();
    const driver = rows[0]?.driver;
    if (driver === undefined) return undefined;
    const row = rows.find((r) => r.key === (driver === 'btrfs' ? 'lxdts.volumes' : 'source'));
    if (!row) return undefined;
    return driver === 'btrfs' ? { poolSource: row.value, driver: 'btrfs' } : { poolSource: row.value };
  }

  list(): Promise<PoolRow[]> {
    return this.store.db.selectFrom('storage_pools').selectAll().orderBy('name').execute();
  }

  get(name: string): Promise<PoolRow | undefined> {
    return this.store.db.selectFrom('storage_pools').selectAll().where('name', '=', name).executeTakeFirst();
  }

  async config(poolId: number): Promise<PoolConfigEntry[]> {
    const rows = await this.store.db
      .selectFrom('storage_pools_config')
      .select(['key', 'value', 'node_id'])
      .where('storage_pool_id', '=', poolId)
      .orderBy('key')
      .execute();
    return rows.map((r) => ({ key: r.key, value: r.value, nodeId: r.node_id }));
  }

  /** Every pool's config value for `key` on `nodeId` (e.g. each pool's `source` on this member). */
  async valuesOf(key: string, nodeId: number): Promise<{ pool: string; value: string }[]> {
    return this.store.db
      .selectFrom('storage_pools_config')
      .innerJoin('storage_pools', 'storage_pools.id', 'storage_pools_config.storage_pool_id')
      .select(['storage_pools.name as pool', 'storage_pools_config.value'])
      .where('storage_pools_config.key', '=', key)
      .where('storage_pools_config.node_id', '=', nodeId)
      .execute();
  }

  async locations(poolId: number): Promise<string[]> {
    const rows = await this.store.db
      .selectFrom('storage_pools_nodes')
      .innerJoin('nodes', 'nodes.id', 'storage_pools_nodes.node_id')
      .select('nodes.name')
      .where('storage_pools_nodes.storage_pool_id', '=', poolId)
      .orderBy('nodes.name')
      .execute();
    return rows.map((r) => r.name);
  }

  async create(pool: NewPool): Promise<number> {
    return this.store.transaction(async (tx) => {
      const res = await tx
        .insertInto('storage_pools')
        .values({ name: pool.name, driver: pool.driver, description: pool.description, state: pool.state })
        .executeTakeFirstOrThrow();
      const id = Number(res.insertId);
      for (const n of pool.nodes) {
        await tx.insertInto('storage_pools_nodes').values({ storage_pool_id: id, node_id: n.nodeId, state: n.state }).execute();
      }
      await this.insertConfig(tx, id, pool.config);
      return id;
    });
  }

  /** A new cluster member's rows for an existing pool: its state and its own config (source). */
  async addMember(poolId: number, nodeId: number, config: PoolConfigEntry[], state: number): Promise<void> {
    await this.store.transaction(async (tx) => {
      await tx.deleteFrom('storage_pools_nodes').where('storage_pool_id', '=', poolId).where('node_id', '=', nodeId).execute();
      await tx.deleteFrom('storage_pools_config').where('storage_pool_id', '=', poolId).where('node_id', '=', nodeId).execute();
      await tx.insertInto('storage_pools_nodes').values({ storage_pool_id: poolId, node_id: nodeId, state }).execute();
      await this.insertConfig(tx, poolId, config);
    });
  }

  /** Replaces description and the whole config. */
  async update(poolId: number, description: string, config: PoolConfigEntry[]): Promise<void> {
    await this.store.transaction(async (tx) => {
      await tx.updateTable('storage_pools').set({ description }).where('id', '=', poolId).execute();
      await tx.deleteFrom('storage_pools_config').where('storage_pool_id', '=', poolId).execute();
      await this.insertConfig(tx, poolId, config);
    });
  }

  /**
   * Deletes the pool's rows (config, members and image volumes cascade); `beforeCommit` runs inside the transaction
   * so that a failure there keeps the pool.
   */
  async delete(poolId: number): Promise<void> {
    await this.store.transaction(async (tx) => {
      await tx.deleteFrom('storage_pools').where('id', '=', poolId).execute();
    });
  }

  /** Profiles whose disk devices use the pool, volumes and volume snapshots in it. */
  async references(poolId: number, poolName: string): Promise<PoolReferences> {
    const db = this.store.db;
    const [profiles, volumes, snapshots] = await Promise.all([
      db
        .selectFrom('profiles_devices_config')
        .innerJoin('profiles_devices', 'profiles_devices.id', 'profiles_devices_config.profile_device_id')
        .innerJoin('profiles', 'profiles.id', 'profiles_devices.profile_id')
        .innerJoin('projects', 'projects.id', 'profiles.project_id')
        .select(['profiles.name', 'projects.name as project'])
        .where('profiles_devices.type', '=', 'disk')
        .where('profiles_devices_config.key', '=', 'pool')
        .where('profiles_devices_config.value', '=', poolName)
        .distinct()
        .execute(),
      db
        .selectFrom('storage_volumes')
        .innerJoin('projects', 'projects.id', 'storage_volumes.project_id')
        .select(['storage_volumes.name', 'storage_volumes.type', 'projects.name as project'])
        .where('storage_volumes.storage_pool_id', '=', poolId)
        .execute(),
      db
        .selectFrom('storage_volumes_snapshots')
        .innerJoin('storage_volumes', 'storage_volumes.id', 'storage_volumes_snapshots.storage_volume_id')
        .innerJoin('projects', 'projects.id', 'storage_volumes.project_id')
        .select([
          'storage_volumes.name as volume',
          'storage_volumes_snapshots.name as snapshot',
          'storage_volumes.type',
          'projects.name as project',
        ])
        .where('storage_volumes.storage_pool_id', '=', poolId)
        .execute(),
    ]);
    return { profiles, volumes, snapshots };
  }

  /** Whether anything but image volumes keeps the pool in use. */
  async inUse(poolId: number, poolName: string): Promise<boolean> {
    const refs = await this.references(poolId, poolName);
    return refs.profiles.length > 0 || refs.volumes.some((v) => v.type !== IMAGE_VOLUME);
  }

  private async insertConfig(tx: Tx, poolId: number, config: PoolConfigEntry[]): Promise<void> {
    for (const c of config) {
      await tx
        .insertInto('storage_pools_config')
        .values({ storage_pool_id: poolId, node_id: c.nodeId, key: c.key, value: c.value })
        .execute();
    }
  }
}
