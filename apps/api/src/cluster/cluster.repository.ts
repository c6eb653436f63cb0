// The cluster's rows: members (`nodes`) and pending join tokens. The only SQL of the cluster module.
import { Inject, Injectable } from '@nestjs/common';
import type { Store, Tx } from '@lxdts/raft-store';
import { STORE } from '../daemon/tokens.js';

export interface MemberRow {
  id: number;
  name: string;
  description: string;
  address: string;
  heartbeat: string;
  arch: number;
  state: number;
}

export interface JoinTokenRow {
  uuid: string;
  serverName: string;
  secret: string;
  createdAt: string;
  expiresAt: string;
}

@Injectable()
export class ClusterRepository {
  constructor(@Inject(STORE) private readonly store: Store) {}

  transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
    return this.store.transaction(fn);
  }

  async members(tx?: Tx): Promise<MemberRow[]> {
    return (tx ?? this.store.db)
      .selectFrom('nodes')
      .select(['id', 'name', 'description', 'address', 'heartbeat', 'arch', 'state'])
      .orderBy('id')
      .execute();
  }

  async member(name: string, tx?: Tx): Promise<MemberRow | undefined> {
    return (tx ?? this.store.db)
      .selectFrom('nodes')
      .select(['id', 'name', 'description', 'address', 'heartbeat', 'arch', 'state'])
      .where('name', '=', name)
      .executeTakeFirst();
  }

  async addMember(tx: Tx, m: { name: string; address: string; arch: number; heartbeat: string; schema: number; apiExtensions: number }): Promise<number> {
    const r = await tx
      .insertInto('nodes')
      .values({ name: m.name, address: m.address, arch: m.arch, heartbeat: m.heartbeat, schema: m.schema, api_extensions: m.apiExtensions, description: '', state: 0, failure_domain_id: null })
      .executeTakeFirstOrThrow();
    return Number(r.insertId);
  }

  async updateMember(tx: Tx, id: number, patch: Partial<Pick<MemberRow, 'name' | 'description' | 'address' | 'heartbeat' | 'state'>>): Promise<void> {
    await tx.updateTable('nodes').set(patch).where('id', '=', id).execute();
  }

  async setHeartbeats(tx: Tx, heartbeats: ReadonlyMap<number, string>): Promise<void> {
    for (const [id, at] of heartbeats) await tx.updateTable('nodes').set({ heartbeat: at }).where('id', '=', id).execute();
  }

  async deleteMember(tx: Tx, id: number): Promise<void> {
    await tx.deleteFrom('nodes').where('id', '=', id).execute();
  }

  /** How many instances a member holds (a member with instances is only removed with --force). */
  async instanceCount(nodeId: number): Promise<number> {
    const r = await this.store.db.selectFrom('instances').select((eb) => eb.fn.countAll<number>().as('n')).where('node_id', '=', nodeId).executeTakeFirst();
    return Number(r?.n ?? 0);
  }

  async tokens(tx?: Tx): Promise<JoinTokenRow[]> {
    const rows = await (tx ?? this.store.db).selectFrom('cluster_join_tokens').selectAll().orderBy('id').execute();
    return rows.map((r) => ({ uuid: r.uuid, serverName: r.server_name, secret: r.secret, createdAt: r.created_at, expiresAt: r.expires_at }));
  }

  async addToken(t: JoinTokenRow): Promise<void> {
    await this.store.transaction(async (tx) => {
      await tx.deleteFrom('cluster_join_tokens').where('server_name', '=', t.serverName).execute();
      await tx
        .insertInto('cluster_join_tokens')
        .values({ uuid: t.uuid, server_name: t.serverName, secret: t.secret, created_at: t.createdAt, expires_at: t.expiresAt })
        .execute();
    });
  }

  async deleteToken(uuid: string, tx?: Tx): Promise<boolean> {
    const r = await (tx ?? this.store.db).deleteFrom('cluster_join_tokens').where('uuid', '=', uuid).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  async pools(): Promise<{ id: number; name: string; driver: string }[]> {
    return this.store.db.selectFrom('storage_pools').select(['id', 'name', 'driver']).orderBy('name').execute();
  }

  async globalConfig(key: string): Promise<string | undefined> {
    return (await this.store.db.selectFrom('config').select('value').where('key', '=', key).executeTakeFirst())?.value;
  }
}
