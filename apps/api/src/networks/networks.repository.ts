import { Inject, Injectable } from '@nestjs/common';
import type { Store, Tx } from '@lxdts/raft-store';
import { STORE } from '../daemon/tokens.js';
import { localMember } from '../cluster/local-member.js';

export interface ManagedNetworkRow {
  id: number;
  name: string;
  description: string;
  type: string;
  /** 0 pending, 1 created, 2 errored. */
  state: number;
  config: Record<string, string>;
}

export interface NicUsers {
  profiles: { name: string; project: string }[];
  instances: { name: string; project: string }[];
}

@Injectable()
export class NetworksRepository {
  constructor(@Inject(STORE) private readonly store: Store) {}

  /** Projects without `features.networks` use the default project's networks; undefined = no such project. */
  async networksProject(project: string): Promise<string | undefined> {
    const row = await this.store.db
      .selectFrom('projects')
      .leftJoin('projects_config', (j) => j.onRef('projects_config.project_id', '=', 'projects.id').on('projects_config.key', '=', 'features.networks'))
      .select(['projects.name', 'projects_config.value'])
      .where('projects.name', '=', project)
      .executeTakeFirst();
    if (!row) return undefined;
    return row.value === 'true' ? row.name : 'default';
  }

  async listManaged(project: string, name?: string): Promise<ManagedNetworkRow[]> {
    let q = this.store.db
      .selectFrom('networks')
      .innerJoin('projects', 'projects.id', 'networks.project_id')
      .select(['networks.id', 'networks.name', 'networks.description', 'networks.type', 'networks.state'])
      .where('projects.name', '=', project);
    if (name !== undefined) q = q.where('networks.name', '=', name);
    const rows = await q.orderBy('networks.name').execute();
    if (rows.length === 0) return [];
    const config = await this.store.db
      .selectFrom('networks_config')
      .select(['network_id', 'key', 'value'])
      .where('network_id', 'in', rows.map((r) => r.id))
      .where((eb) => eb.or([eb('node_id', 'is', null), eb('node_id', '=', localMember.nodeId)]))
      .orderBy('key')
      .execute();
    return rows.map((r) => ({
      ...r,
      config: Object.fromEntries(config.filter((c) => c.network_id === r.id).map((c) => [c.key, c.value])),
    }));
  }

  async projectId(project: string): Promise<number | undefined> {
    return (await this.store.db.selectFrom('projects').select('id').where('name', '=', project).executeTakeFirst())?.id;
  }

  /** Every managed network of every project (daemon start: their host part is set up again). */
  async allManaged(): Promise<(ManagedNetworkRow & { project: string })[]> {
    const projects = await this.store.db.selectFrom('projects').select('name').execute();
    const out: (ManagedNetworkRow & { project: string })[] = [];
    for (const p of projects) for (const n of await this.listManaged(p.name)) out.push({ ...n, project: p.name });
    return out;
  }

  async create(projectId: number, n: { name: string; description: string; type: string; config: Record<string, string> }): Promise<number> {
    return this.store.transaction(async (tx) => {
      const { id } = await tx
        .insertInto('networks')
        .values({ project_id: projectId, name: n.name, description: n.description, type: n.type, state: 1 })
        .returning('id')
        .executeTakeFirstOrThrow();
      await this.writeConfig(tx, id, n.config);
      return id;
    });
  }

  async update(id: number, description: string, config: Record<string, string>): Promise<void> {
    await this.store.transaction(async (tx) => {
      await tx.updateTable('networks').set({ description }).where('id', '=', id).execute();
      await tx.deleteFrom('networks_config').where('network_id', '=', id).execute();
      await this.writeConfig(tx, id, config);
    });
  }

  async delete(id: number): Promise<void> {
    await this.store.db.deleteFrom('networks').where('id', '=', id).execute();
  }

  /** The `volatile.<nic>.hwaddr` of instances' NICs, by MAC address: the instance a DHCP lease belongs to. */
  async instanceMacs(): Promise<Map<string, { name: string; project: string }>> {
    const rows = await this.store.db
      .selectFrom('instances_config')
      .innerJoin('instances', 'instances.id', 'instances_config.instance_id')
      .innerJoin('projects', 'projects.id', 'instances.project_id')
      .select(['instances.name', 'projects.name as project', 'instances_config.value'])
      .where('instances_config.key', 'like', 'volatile.%.hwaddr')
      .execute();
    return new Map(rows.map((r) => [r.value.toLowerCase(), { name: r.name, project: r.project }]));
  }

  private async writeConfig(tx: Tx, id: number, config: Record<string, string>): Promise<void> {
    for (const [key, value] of Object.entries(config)) {
      if (value === '') continue;
      await tx.insertInto('networks_config').values({ network_id: id, node_id: null, key, value }).execute();
    }
  }

  /** Profiles and instances with a `nic` device whose `key` (network or parent) is `value`. */
  async nicUsers(key: 'network' | 'parent', value: string): Promise<NicUsers> {
    const db = this.store.db;
    const [profiles, instances] = await Promise.all([
      db
        .selectFrom('profiles_devices')
        .innerJoin('profiles_devices_config as c', 'c.profile_device_id', 'profiles_devices.id')
        .innerJoin('profiles', 'profiles.id', 'profiles_devices.profile_id')
        .innerJoin('projects', 'projects.id', 'profiles.project_id')
        .select(['profiles.name', 'projects.name as project'])
        .where('profiles_devices.type', '=', 'nic')
        .where('c.key', '=', key)
        .where('c.value', '=', value)
        .distinct()
        .orderBy('projects.name')
        .orderBy('profiles.name')
        .execute(),
      db
        .selectFrom('instances_devices')
        .innerJoin('instances_devices_config as c', 'c.instance_device_id', 'instances_devices.id')
        .innerJoin('instances', 'instances.id', 'instances_devices.instance_id')
        .innerJoin('projects', 'projects.id', 'instances.project_id')
        .select(['instances.name', 'projects.name as project'])
        .where('instances_devices.type', '=', 'nic')
        .where('c.key', '=', key)
        .where('c.value', '=', value)
        .distinct()
        .orderBy('projects.name')
        .orderBy('instances.name')
        .execute(),
    ]);
    // Instances get the devices of their profiles too (an instance device of the same name would override it;
    // that refinement waits for the instances work).
    const viaProfiles =
      profiles.length === 0
        ? []
        : await db
            .selectFrom('instances_profiles')
            .innerJoin('profiles', 'profiles.id', 'instances_profiles.profile_id')
            .innerJoin('projects as pp', 'pp.id', 'profiles.project_id')
            .innerJoin('instances', 'instances.id', 'instances_profiles.instance_id')
            .innerJoin('projects', 'projects.id', 'instances.project_id')
            .select(['instances.name', 'projects.name as project', 'profiles.name as profile', 'pp.name as profileProject'])
            .execute();
    const usesProfile = (r: { profile: string; profileProject: string }) =>
      profiles.some((p) => p.name === r.profile && p.project === r.profileProject);
    const all = [...instances, ...viaProfiles.filter(usesProfile).map((r) => ({ name: r.name, project: r.project }))];
    const unique = [...new Map(all.map((i) => [`${i.project}/${i.name}`, i])).values()];
    unique.sort((a, b) => a.project.localeCompare(b.project) || a.name.localeCompare(b.name));
    return { profiles, instances: unique };
  }
}
