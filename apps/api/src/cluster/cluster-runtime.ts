// Whether and how this daemon is part of a cluster, from before the Nest app exists (a clustered member must open
// dqlite before anything reads the database) to shutdown. Holds the member's identity, the cluster certificate and
// the running ClusterDatabase, and performs the two transitions: bootstrap (`lxc cluster enable`: this server's data
// moves into a new dqlite database) and join (a new member's node is added to an existing one).
import { copyFileSync, existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { machine } from 'node:os';
import { join } from 'node:path';
import { architectureId } from '../images/architectures.js';
import type { DqliteNodeInfo, DqliteParam } from '@lxdts/raft-store';
import type { DaemonStore } from '../daemon/daemon-store.js';
import type { DaemonPaths } from '../daemon/paths.js';
import { certificateFingerprint } from '../tls/server-certificate.js';
import { ClusterDatabase, clusterDataDir } from './cluster-database.js';
import type { ClusterTls } from './database-tunnel.js';
import { localMember } from './local-member.js';

export interface MemberInfo {
  clustered: boolean;
  /** `none` standalone, as LXD. */
  name: string;
  /** Row id in `nodes` (1 standalone) and raft node id. */
  nodeId: number;
  /** The cluster address (host:port); '' standalone. */
  address: string;
}

export interface RaftNodeRecord {
  id: number;
  address: string;
  role: number;
  name: string;
}

export type ClusterLog = (level: 'info' | 'warn' | 'error', msg: string) => void;

/** The local config key holding the member's cluster address (LXD's name). */
export const CLUSTER_ADDRESS_KEY = 'cluster.https_address';

export class ClusterRuntime {
  private current: MemberInfo = { clustered: false, name: 'none', nodeId: 1, address: '' };
  tls: ClusterTls | null = null;
  database: ClusterDatabase | null = null;
  /** Called after bootstrap/join/open with the new certificate (the HTTPS listener switches to it). */
  onClustered: (tls: ClusterTls) => void = () => undefined;

  constructor(
    readonly paths: DaemonPaths,
    readonly store: DaemonStore,
    readonly log: ClusterLog,
  ) {}

  get member(): MemberInfo {
    return this.current;
  }

  /** Also what the repositories see (localMember). */
  set member(m: MemberInfo) {
    this.current = m;
    localMember.nodeId = m.nodeId;
    localMember.name = m.name;
  }

  get certPath(): string {
    return join(this.paths.varDir, 'cluster.crt');
  }

  get keyPath(): string {
    return join(this.paths.varDir, 'cluster.key');
  }

  /** Whether open() will start a node: the member has a cluster address, itself among the raft nodes, a key. */
  async willOpen(): Promise<boolean> {
    const address = await this.localConfig(CLUSTER_ADDRESS_KEY);
    return !!address && (await this.raftNodes()).some((n) => n.address === address) && existsSync(this.certPath);
  }

  /** At daemon start: a member with a cluster address and raft nodes recorded starts its node and opens dqlite. */
  async open(): Promise<void> {
    if (!(await this.willOpen())) return;
    const address = await this.localConfig(CLUSTER_ADDRESS_KEY);
    const nodes = await this.raftNodes();
    const self = nodes.find((n) => n.address === address)!;
    this.tls = this.loadTls();
    this.onClustered(this.tls);
    await this.startDatabase(self.id, address, nodes.map((n) => n.address));
    const row = await this.store.db.selectFrom('nodes').select(['id', 'name']).where('id', '=', self.id).executeTakeFirst();
    this.member = { clustered: true, name: row?.name ?? self.name, nodeId: self.id, address };
    this.onClustered(this.tls);
  }

  /**
   * `lxc cluster enable <name>`: the server certificate becomes the cluster certificate, a one-node dqlite cluster
   * starts at `address`, and every global table is copied into it. On failure nothing changes (the SQLite data stays
   * the daemon's database).
   */
  async bootstrap(name: string, address: string): Promise<void> {
    copyFileSync(this.paths.serverCert, this.certPath);
    copyFileSync(this.paths.serverKey, this.keyPath);
    this.tls = this.loadTls();
    this.onClustered(this.tls);
    const database = await ClusterDatabase.start(this.databaseOptions(1, address, []));
    try {
      await this.copyGlobalData(database);
      const arch = architectureId(machine());
      await database.store.transaction((tx) => tx.updateTable('nodes').set({ name, address, arch, heartbeat: new Date().toISOString() }).where('id', '=', 1).execute());
    } catch (err) {
      await database.stop(false);
      throw err;
    }
    await this.recordLocal(address, [{ id: 1, address, role: 0, name }]);
    this.switchTo(database, { clustered: true, name, nodeId: 1, address });
  }

  /**
   * A new member, accepted by the cluster (its row exists as `nodeId`): keeps the cluster certificate, starts its
   * own (empty) node and, once `addToRaft` has made it a raft member, switches its database to the cluster's.
   */
  async join(opts: {
    name: string;
    address: string;
    nodeId: number;
    cert: string;
    key: string;
    raftNodes: RaftNodeRecord[];
    addToRaft: () => Promise<void>;
  }): Promise<void> {
    writeFileSync(this.keyPath, opts.key, { mode: 0o600 });
    writeFileSync(this.certPath, opts.cert, { mode: 0o644 });
    this.tls = this.loadTls();
    // Peers pin the cluster certificate: present it before the leader dials this member's node.
    this.onClustered(this.tls);
    const seeds = opts.raftNodes.map((n) => n.address);
    // The node must be running (reachable through the tunnel) before the leader adds it.
    let database: ClusterDatabase | undefined;
    const started = ClusterDatabase.start(this.databaseOptions(opts.nodeId, opts.address, seeds));
    // DqliteStore.open inside start() needs the leader, which does not know this node yet: that is fine, the client
    // talks to the seeds. Adding to raft can run as soon as the sidecar listens; start() resolves after migrations.
    try {
      await opts.addToRaft();
      database = await started;
    } catch (err) {
      await started.then((d) => d.stop(false)).catch(() => undefined);
      throw err;
    }
    await this.recordLocal(opts.address, [...opts.raftNodes.filter((n) => n.id !== opts.nodeId), { id: opts.nodeId, address: opts.address, role: 2, name: opts.name }]);
    this.switchTo(database, { clustered: true, name: opts.name, nodeId: opts.nodeId, address: opts.address });
  }

  /**
   * This member was removed from its cluster: stop the node, forget the cluster (certificate, raft data, address)
   * and go back to being a standalone server on its own SQLite database.
   */
  async leave(): Promise<void> {
    const db = this.database;
    if (!db) return;
    this.database = null;
    await db.stop(false).catch(() => undefined);
    this.store.useGlobal(this.store.localStore);
    await this.store.localTransaction(async (tx) => {
      await tx.deleteFrom('raft_nodes').execute();
      await tx.deleteFrom('local_config').where('key', '=', CLUSTER_ADDRESS_KEY).execute();
    });
    rmSync(clusterDataDir(this.paths.varDir), { recursive: true, force: true });
    rmSync(this.certPath, { force: true });
    rmSync(this.keyPath, { force: true });
    this.tls = null;
    this.member = { clustered: false, name: 'none', nodeId: 1, address: '' };
    this.log('warn', 'This server was removed from its cluster; it is standalone again');
    this.onLeft();
  }

  /** Called after leave() (the HTTPS listener goes back to the server certificate). */
  onLeft: () => void = () => undefined;

  /** A new cluster key pair (`lxc cluster update-certificate`): written, then presented and pinned from now on. */
  replaceCertificate(cert: string, key: string): void {
    writeFileSync(`${this.keyPath}.new`, key, { mode: 0o600 });
    writeFileSync(`${this.certPath}.new`, cert, { mode: 0o644 });
    renameSync(`${this.keyPath}.new`, this.keyPath);
    renameSync(`${this.certPath}.new`, this.certPath);
    this.tls = this.loadTls();
    this.onClustered(this.tls);
  }

  /** Stops the node (handing leadership over first when `handover`). */
  async stop(handover = true): Promise<void> {
    const db = this.database;
    this.database = null;
    if (db) await db.stop(handover);
  }

  /** The raft members this node knows of (persisted for the next start). */
  async raftNodes(): Promise<RaftNodeRecord[]> {
    return this.store.memberDb.selectFrom('raft_nodes').select(['id', 'address', 'role', 'name']).orderBy('id').execute();
  }

  /** Records the raft member list (from a heartbeat or the client) as the seeds of the next start. */
  async rememberRaftNodes(nodes: readonly { id: number; address: string; role: number; name?: string }[]): Promise<void> {
    if (nodes.length === 0) return;
    const known = new Map((await this.raftNodes()).map((n) => [n.id, n.name]));
    await this.store.localTransaction(async (tx) => {
      await tx.deleteFrom('raft_nodes').execute();
      for (const n of nodes) {
        await tx.insertInto('raft_nodes').values({ id: n.id, address: n.address, role: n.role, name: n.name ?? known.get(n.id) ?? '' }).execute();
      }
    });
  }

  private switchTo(database: ClusterDatabase, member: MemberInfo): void {
    this.database = database;
    this.store.useGlobal(database.store);
    this.member = member;
    this.onClustered(this.tls!);
  }

  private async startDatabase(nodeId: number, address: string, seeds: string[]): Promise<void> {
    const database = await ClusterDatabase.start(this.databaseOptions(nodeId, address, seeds));
    this.database = database;
    this.store.useGlobal(database.store);
  }

  private databaseOptions(nodeId: number, address: string, seeds: readonly string[]) {
    return {
      varDir: this.paths.varDir,
      nodeId,
      address,
      seeds,
      tls: () => this.tls!,
      log: this.log,
      onMembers: (members: DqliteNodeInfo[]) => {
        void this.rememberRaftNodes(members.map((m) => ({ id: Number(m.id), address: m.address, role: m.role ?? 0 }))).catch(() => undefined);
      },
    };
  }

  private loadTls(): ClusterTls {
    const cert = readFileSync(this.certPath, 'utf8');
    return { cert, key: readFileSync(this.keyPath, 'utf8'), fingerprint: certificateFingerprint(cert) };
  }

  async localConfig(key: string): Promise<string> {
    return (await this.store.memberDb.selectFrom('local_config').select('value').where('key', '=', key).executeTakeFirst())?.value ?? '';
  }

  private async recordLocal(address: string, nodes: RaftNodeRecord[]): Promise<void> {
    await this.store.localTransaction(async (tx) => {
      await tx.deleteFrom('local_config').where('key', '=', CLUSTER_ADDRESS_KEY).execute();
      await tx.insertInto('local_config').values({ key: CLUSTER_ADDRESS_KEY, value: address }).execute();
      await tx.deleteFrom('raft_nodes').execute();
      for (const n of nodes) await tx.insertInto('raft_nodes').values(n).execute();
    });
  }

  /** Every global table, rows as they are, into the new dqlite database (replacing what its migrations seeded). */
  private async copyGlobalData(database: ClusterDatabase): Promise<void> {
    const listed = await database.store.raw('global', "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY rowid");
    if (listed.kind !== 'rows') return;
    const skip = new Set(['sqlite_sequence', 'schema_global', 'schema_local']);
    const tables = listed.rows.map((r) => String(r[0])).filter((t) => !skip.has(t) && !t.startsWith('kysely_'));
    const data: { table: string; columns: string[]; rows: unknown[][] }[] = [];
    for (const table of tables) {
      const r = await this.store.raw('local', `SELECT * FROM "${table}"`);
      if (r.kind === 'rows') data.push({ table, columns: r.columns, rows: r.rows });
    }
    await database.store.client.transaction(async (tx) => {
      for (const { table } of [...data].reverse()) await tx.exec(`DELETE FROM "${table}"`);
      for (const { table, columns, rows } of data) {
        if (rows.length === 0) continue;
        const sql = `INSERT INTO "${table}" (${columns.map((c) => `"${c}"`).join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`;
        for (const row of rows) await tx.exec(sql, row as DqliteParam[]);
      }
    });
  }
}
