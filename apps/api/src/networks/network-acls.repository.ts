import { Inject, Injectable } from '@nestjs/common';
import type { NetworkACLRule } from '@lxdts/api-types';
import type { Store } from '@lxdts/raft-store';
import { STORE } from '../daemon/tokens.js';

export interface AclRow {
  id: number;
  name: string;
  description: string;
  ingress: NetworkACLRule[];
  egress: NetworkACLRule[];
  config: Record<string, string>;
}

const parseRules = (text: string): NetworkACLRule[] => {
  try {
    const v = JSON.parse(text) as unknown;
    return Array.isArray(v) ? (v as NetworkACLRule[]) : [];
  } catch {
    return [];
  }
};

/** networks_acls (+ _config): the rules are JSON lists, as LXD keeps them. */
@Injectable()
export class NetworkAclsRepository {
  constructor(@Inject(STORE) private readonly store: Store) {}

  async list(projectId: number, name?: string): Promise<AclRow[]> {
    let q = this.store.db.selectFrom('networks_acls').select(['id', 'name', 'description', 'ingress', 'egress']).where('project_id', '=', projectId);
    if (name !== undefined) q = q.where('name', '=', name);
    const rows = await q.orderBy('name').execute();
    if (rows.length === 0) return [];
    const config = await this.store.db
      .selectFrom('networks_acls_config')
      .select(['network_acl_id', 'key', 'value'])
      .where('network_acl_id', 'in', rows.map((r) => r.id))
      .execute();
    return rows.map((r) => ({
      id: r.id,
      name: r.name,
      description: r.description,
      ingress: parseRules(r.ingress),
      egress: parseRules(r.egress),
      config: Object.fromEntries(config.filter((c) => c.network_acl_id === r.id).map((c) => [c.key, c.value])),
    }));
  }

  async create(projectId: number, acl: Omit<AclRow, 'id'>): Promise<void> {
    await this.store.transaction(async (tx) => {
      const { id } = await tx
        .insertInto('networks_acls')
        .values({ project_id: projectId, name: acl.name, description: acl.description, ingress: JSON.stringify(acl.ingress), egress: JSON.stringify(acl.egress) })
        .returning('id')
        .executeTakeFirstOrThrow();
      for (const [key, value] of Object.entries(acl.config)) await tx.insertInto('networks_acls_config').values({ network_acl_id: id, key, value }).execute();
    });
  }

  async update(id: number, acl: Omit<AclRow, 'id' | 'name'>): Promise<void> {
    await this.store.transaction(async (tx) => {
      await tx
        .updateTable('networks_acls')
        .set({ description: acl.description, ingress: JSON.stringify(acl.ingress), egress: JSON.stringify(acl.egress) })
        .where('id', '=', id)
        .execute();
      await tx.deleteFrom('networks_acls_config').where('network_acl_id', '=', id).execute();
      for (const [key, value] of Object.entries(acl.config)) await tx.insertInto('networks_acls_config').values({ network_acl_id: id, key, value }).execute();
    });
  }

  async rename(id: number, name: string): Promise<void> {
    await this.store.db.updateTable('networks_acls').set({ name }).where('id', '=', id).execute();
  }

  async delete(id: number): Promise<void> {
    await this.store.db.deleteFrom('networks_acls').where('id', '=', id).execute();
  }
}
