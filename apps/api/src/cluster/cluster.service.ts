// /1.0/cluster and its members as LXD 5.0.2 shows them, and the steps of a cluster's life: enable (bootstrap),
// join tokens, accepting a new member, adding it to raft, rename, edit, remove. The raft side lives in
// ClusterRuntime/ClusterDatabase; role balancing and heartbeats in ClusterHeartbeat.
import { X509Certificate, createPrivateKey, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { certificateFingerprint } from '../tls/server-certificate.js';
import { machine } from 'node:os';
import { Inject, Injectable } from '@nestjs/common';
import type {
  Cluster,
  ClusterAcceptRequest,
  ClusterAcceptResponse,
  ClusterMember,
  ClusterMemberConfigKey,
  ClusterMemberPut,
  ClusterPut,
  ClusterRaftAddRequest,
  Operation,
  RaftNode,
} from '@lxdts/api-types';
import { StatusCode, StatusText } from '@lxdts/api-types';
import type { Identity } from '../auth/identity.js';
import { EventsService } from '../events/events.service.js';
import { badRequest, conflict, forbidden, notFound } from '../http/api-error.js';
import { architectureId, architectureName } from '../images/architectures.js';
import { OperationsService } from '../operations/operations.service.js';
import { ServerConfigService } from '../server/server-config.service.js';
import { StoragePoolsService } from '../storage-pools/storage-pools.service.js';
import { CLUSTER_RUNTIME } from '../daemon/tokens.js';
import { CLUSTER_ADDRESS_KEY, type ClusterRuntime } from './cluster-runtime.js';
import { ClusterRepository, type JoinTokenRow, type MemberRow } from './cluster.repository.js';
import { memberRequest } from './member-client.js';
import { RaftRole, nextRoleChange, roleNames } from './role-plan.js';

/** LXD's defaults for the cluster.* keys. */
export const CLUSTER_DEFAULTS = { maxVoters: 3, maxStandby: 2, offlineThresholdSec: 20, joinTokenExpiry: '3H' };
const NOT_CLUSTERED = 'Server is not clustered';
const MEMBER_NAME = /^[a-zA-Z0-9]([a-zA-Z0-9.-]{0,61}[a-zA-Z0-9])?$/;
/** Written as a member's heartbeat when the leader finds it unreachable: older than any threshold. */
export const NO_HEARTBEAT = '1970-01-01T00:00:00Z';

@Injectable()
export class ClusterService {
  constructor(
    @Inject(CLUSTER_RUNTIME) private readonly runtime: ClusterRuntime,
    private readonly repo: ClusterRepository,
    private readonly operations: OperationsService,
    private readonly config: ServerConfigService,
    private readonly events: EventsService,
    private readonly pools: StoragePoolsService,
  ) {
    operations.addSource({
      list: async () => {
        if (!this.runtime.member.clustered) return [];
        const addresses = await this.memberAddresses();
        return (await this.liveTokens()).map((t) => this.tokenOperation(t, addresses));
      },
      get: async (id) => {
        if (!this.runtime.member.clustered) return undefined;
        const t = (await this.liveTokens()).find((x) => x.uuid === id);
        return t ? this.tokenOperation(t, await this.memberAddresses()) : undefined;
      },
      cancel: async (id) => this.runtime.member.clustered && (await this.repo.deleteToken(id)),
    });
  }

  get clustered(): boolean {
    return this.runtime.member.clustered;
  }

  // ---- GET/PUT /1.0/cluster ------------------------------------------------------------------------------------

  async info(): Promise<Cluster> {
    const m = this.runtime.member;
    return { server_name: m.clustered ? m.name : '', enabled: m.clustered, member_config: await this.memberConfigKeys() };
  }

  /** PUT /1.0/cluster: bootstrap when enabling without a cluster to join, else join the one named. */
  async update(put: ClusterPut, identity: Identity): Promise<Operation> {
    if (!put.enabled) throw badRequest('Disabling clustering is not supported; remove the member from its cluster instead');
    if (this.clustered) throw badRequest('This server is already clustered');
    if (!MEMBER_NAME.test(put.server_name)) throw badRequest(`Invalid server name "${put.server_name}"`);
    return put.cluster_address ? this.join(put, identity) : this.enable(put.server_name, identity);
  }

  private async enable(name: string, identity: Identity): Promise<Operation> {
    const address = (await this.config.get(CLUSTER_ADDRESS_KEY)) || (await this.config.get('core.https_address'));
    if (!address || /^(\[::\]|::|0\.0\.0\.0)?(:\d+)?$/.test(address)) {
      throw badRequest('Clustering needs a specific address: set core.https_address (or cluster.https_address) to this server\'s IP and port first');
    }
    return this.operations.start({
      class: 'task',
      description: 'Creating bootstrap node',
      project: '',
      resources: { cluster: [] },
      run: async () => {
        await this.runtime.bootstrap(name, address);
        this.events.location = name;
        this.operations.location = name;
        this.events.lifecycle('cluster-enabled', `/1.0/cluster/members/${name}`, '', identity);
      },
    });
  }

  /** On the joining server (lxdts init --preseed with a cluster_token). */
  private async join(put: ClusterPut, identity: Identity): Promise<Operation> {
    if (!put.cluster_certificate) throw badRequest('No cluster certificate given');
    if (!put.cluster_password) throw badRequest('No join token secret given');
    const address = put.server_address || (await this.config.get('core.https_address'));
    if (!address) throw badRequest('No server address given for the joining server (server_address)');
    if ((await this.repo.instanceCount(1)) > 0) throw badRequest('The joining server must not have any instances');
    return this.operations.start({
      class: 'task',
      description: 'Joining cluster',
      project: '',
      resources: { cluster: [] },
      run: async () => {
        const pinned = { pinned: put.cluster_certificate };
        const accepted = await memberRequest<ClusterAcceptResponse>(
          put.cluster_address,
          'POST',
          '/internal/cluster/accept',
          { server_name: put.server_name, address, secret: put.cluster_password, architecture: machine() } satisfies ClusterAcceptRequest,
          pinned,
        );
        // Peers reach this member's node through its HTTPS: listen there before the leader adds it.
        if ((await this.config.get('core.https_address')) !== address) await this.config.update({ 'core.https_address': address }, 'merge');
        await this.runtime.join({
          name: put.server_name,
          address,
          nodeId: accepted.node_id,
          cert: accepted.cluster_certificate,
          key: accepted.cluster_key,
          raftNodes: accepted.raft_nodes,
          addToRaft: () =>
            memberRequest(put.cluster_address, 'POST', '/internal/cluster/raft-add', { node_id: accepted.node_id, address } satisfies ClusterRaftAddRequest, {
              pinned: accepted.cluster_certificate,
              cert: accepted.cluster_certificate,
              key: accepted.cluster_key,
            }, 60_000).then(() => undefined),
        });
        this.events.location = put.server_name;
        this.operations.location = put.server_name;
        await this.applyMemberConfig(put.member_config);
        this.events.lifecycle('cluster-member-added', `/1.0/cluster/members/${put.server_name}`, '', identity);
      },
    });
  }

  // ---- members -------------------------------------------------------------------------------------------------

  async members(): Promise<ClusterMember[]> {
    this.requireClustered();
    const [rows, raft, leader, threshold] = await Promise.all([this.repo.members(), this.raftRoles(), this.leaderAddress(), this.offlineThreshold()]);
    return rows.map((r) => this.toApi(r, raft.get(r.id), r.address === leader, threshold));
  }

  async member(name: string): Promise<ClusterMember> {
    this.requireClustered();
    const row = await this.repo.member(name);
    if (!row) throw notFound('Cluster member not found');
    const [raft, leader, threshold] = await Promise.all([this.raftRoles(), this.leaderAddress(), this.offlineThreshold()]);
    return this.toApi(row, raft.get(row.id), row.address === leader, threshold);
  }

  async memberNames(): Promise<string[]> {
    return this.clustered ? (await this.repo.members()).map((m) => m.name) : ['none'];
  }

  async rename(name: string, newName: string, identity: Identity): Promise<void> {
    this.requireClustered();
    if (!MEMBER_NAME.test(newName)) throw badRequest(`Invalid member name "${newName}"`);
    const row = await this.repo.member(name);
    if (!row) throw notFound('Cluster member not found');
    if (await this.repo.member(newName)) throw conflict(`The cluster already has a member with name: ${newName}`);
    await this.repo.transaction((tx) => this.repo.updateMember(tx, row.id, { name: newName }));
    if (row.id === this.runtime.member.nodeId) {
      this.runtime.member = { ...this.runtime.member, name: newName };
      this.events.location = newName;
      this.operations.location = newName;
    }
    this.events.lifecycle('cluster-member-renamed', `/1.0/cluster/members/${newName}`, '', identity, { old_name: name });
  }

  async updateMember(name: string, put: ClusterMemberPut, identity: Identity): Promise<void> {
    this.requireClustered();
    const row = await this.repo.member(name);
    if (!row) throw notFound('Cluster member not found');
    // Database roles follow raft; the only roles one may set are the others (none implemented yet).
    const current = roleNames((await this.raftRoles()).get(row.id), row.address === (await this.leaderAddress()));
    const asked = put.roles.filter((r) => r !== 'database-leader');
    const have = current.filter((r) => r !== 'database-leader');
    if (asked.some((r) => !have.includes(r)) || have.some((r) => !asked.includes(r))) {
      throw badRequest('The database roles of a member are managed automatically and cannot be changed');
    }
    if (Object.keys(put.config).length > 0) throw badRequest(`Invalid cluster member config key "${Object.keys(put.config)[0]}"`);
    await this.repo.transaction((tx) => this.repo.updateMember(tx, row.id, { description: put.description }));
    this.events.lifecycle('cluster-member-updated', `/1.0/cluster/members/${name}`, '', identity);
  }

  /** `lxc cluster remove [--force]`: out of raft and out of the database; the roles rebalance afterwards. */
  async remove(name: string, force: boolean, identity: Identity): Promise<void> {
    this.requireClustered();
    const row = await this.repo.member(name);
    if (!row) throw notFound('Cluster member not found');
    const rows = await this.repo.members();
    if (rows.length === 1) throw badRequest('The last member of a cluster cannot be removed');
    if (!force && (await this.repo.instanceCount(row.id)) > 0) throw badRequest(`Member "${name}" still has instances; move or delete them first, or use --force`);
    const db = this.runtime.database!;
    const raft = await db.membership.members();
    if (raft.some((m) => Number(m.id) === row.id)) {
      if ((await db.leaderAddress()) === row.address) {
        const next = raft.find((m) => m.role === RaftRole.Voter && Number(m.id) !== row.id);
        if (next) await db.membership.transfer(next.id, { timeoutMs: 10_000 });
      }
      await db.membership.remove(row.id);
    }
    await this.repo.transaction((tx) => this.repo.deleteMember(tx, row.id));
    if (!force && row.id !== this.runtime.member.nodeId) {
      // Tell it, so it stops its node and forgets the cluster; an unreachable member is simply gone.
      const tls = this.runtime.tls!;
      await memberRequest(row.address, 'POST', '/internal/cluster/leave', {}, { pinned: tls.cert, cert: tls.cert, key: tls.key }, 5_000).catch(() => undefined);
    }
    await this.rebalance().catch(() => undefined);
    this.events.lifecycle('cluster-member-removed', `/1.0/cluster/members/${name}`, '', identity);
  }

  /**
   * PUT /1.0/cluster/certificate: every other member gets the new key pair first (authenticated with the current
   * one), then this member; each switches its listener and its pins at once.
   */
  async updateCertificate(cert: string, key: string, identity: Identity): Promise<void> {
    this.requireClustered();
    let fingerprint: string;
    try {
      fingerprint = certificateFingerprint(cert);
      if (!new X509Certificate(cert).checkPrivateKey(createPrivateKey(key))) throw new Error('the key does not match the certificate');
    } catch (err) {
      throw badRequest(`Invalid cluster certificate: ${(err as Error).message}`);
    }
    const tls = this.runtime.tls!;
    const others = (await this.repo.members()).filter((m) => m.id !== this.runtime.member.nodeId);
    const failed: string[] = [];
    await Promise.all(
      others.map((m) =>
        memberRequest(m.address, 'PUT', '/internal/cluster/certificate', { cluster_certificate: cert, cluster_certificate_key: key }, { pinned: tls.cert, cert: tls.cert, key: tls.key }).catch(
          (err: Error) => failed.push(`${m.name}: ${err.message}`),
        ),
      ),
    );
    this.runtime.replaceCertificate(cert, key);
    this.runtime.log('info', `Cluster certificate replaced (${fingerprint})`);
    this.events.lifecycle('cluster-certificate-updated', '/1.0/cluster/certificate', '', identity);
    if (failed.length) throw badRequest(`The certificate was replaced, but not on: ${failed.join('; ')}`);
  }

  // ---- join tokens ---------------------------------------------------------------------------------------------

  /** POST /1.0/cluster/members: a join token for a future member, as a `token` operation. */
  async createToken(serverName: string): Promise<Operation> {
    this.requireClustered();
    if (!MEMBER_NAME.test(serverName)) throw badRequest(`Invalid member name "${serverName}"`);
    if (await this.repo.member(serverName)) throw conflict(`The cluster already has a member with name: ${serverName}`);
    if ((await this.liveTokens()).some((t) => t.serverName === serverName)) throw conflict(`A join token already exists for the name: ${serverName}`);
    const now = new Date();
    const expiry = parseExpiry((await this.repo.globalConfig('cluster.join_token_expiry')) || CLUSTER_DEFAULTS.joinTokenExpiry);
    const token: JoinTokenRow = {
      uuid: randomUUID(),
      serverName,
      secret: randomBytes(32).toString('hex'),
      createdAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + expiry).toISOString(),
    };
    await this.repo.addToken(token);
    return this.tokenOperation(token, await this.memberAddresses());
  }

  private async liveTokens(): Promise<JoinTokenRow[]> {
    const now = Date.now();
    return (await this.repo.tokens()).filter((t) => Date.parse(t.expiresAt) > now);
  }

  /** Where a joiner may go: this member first, then the others. */
  private async memberAddresses(): Promise<string[]> {
    const self = this.runtime.member.address;
    return [self, ...(await this.repo.members()).map((m) => m.address).filter((a) => a !== self)];
  }

  private tokenOperation(t: JoinTokenRow, addresses: string[]): Operation {
    const tls = this.runtime.tls;
    return {
      id: t.uuid,
      class: 'token',
      description: 'Executing operation',
      created_at: t.createdAt,
      updated_at: t.createdAt,
      status: StatusText[StatusCode.Running]!,
      status_code: StatusCode.Running,
      resources: { cluster: null } as unknown as Record<string, string[]>,
      metadata: { serverName: t.serverName, secret: t.secret, fingerprint: tls?.fingerprint ?? '', addresses, expiresAt: t.expiresAt },
      may_cancel: true,
      err: '',
      location: this.runtime.member.name,
    };
  }

  // ---- between members -----------------------------------------------------------------------------------------

  /** POST /internal/cluster/accept on a member: checks the joiner's token and records it as a member. */
  async accept(req: ClusterAcceptRequest): Promise<ClusterAcceptResponse> {
    this.requireClustered();
    const token = (await this.liveTokens()).find((t) => t.serverName === req.server_name);
    if (!token || !sameSecret(token.secret, req.secret)) throw forbidden('No matching cluster join token found');
    if (!req.address) throw badRequest('The joining server has no address');
    const rows = await this.repo.members();
    if (rows.some((r) => r.name === req.server_name)) throw conflict(`The cluster already has a member with name: ${req.server_name}`);
    if (rows.some((r) => r.address === req.address)) throw conflict(`The cluster already has a member with address: ${req.address}`);
    const nodeId = await this.repo.transaction(async (tx) => {
      // Consumed in the same transaction: a token joins one server, once.
      if (!(await this.repo.deleteToken(token.uuid, tx))) throw forbidden('No matching cluster join token found');
      return this.repo.addMember(tx, {
        name: req.server_name,
        address: req.address,
        arch: architectureId(req.architecture || 'x86_64'),
        heartbeat: new Date().toISOString(),
        schema: 1,
        apiExtensions: 0,
      });
    });
    const tls = this.runtime.tls!;
    return { node_id: nodeId, cluster_certificate: tls.cert, cluster_key: tls.key, raft_nodes: await this.raftNodes() };
  }

  /** POST /internal/cluster/raft-add: the accepted member's node runs; add it to raft and give it its role. */
  async raftAdd(req: ClusterRaftAddRequest): Promise<void> {
    this.requireClustered();
    const row = (await this.repo.members()).find((r) => r.id === req.node_id);
    if (!row || row.address !== req.address) throw badRequest('Unknown member');
    const db = this.runtime.database!;
    if (!(await db.membership.members()).some((m) => Number(m.id) === req.node_id)) await db.membership.add(req.node_id, req.address);
    // Its role right away when this member leads (otherwise the leader's next heartbeat round gives it).
    for (let i = 0; i < 3; i++) if (!(await this.rebalance([req.node_id]).catch(() => false))) break;
  }

  /** `lxdts cluster remove-raft-node`: drops a database node that has no member any more. */
  async removeRaftNode(address: string): Promise<void> {
    this.requireClustered();
    const node = (await this.runtime.database!.membership.members()).find((m) => m.address === address);
    if (!node) throw notFound(`No database node with address ${address}`);
    if (address === this.runtime.member.address) throw badRequest('This member\'s own database node cannot be removed');
    await this.runtime.database!.membership.remove(node.id);
  }

  /** One role change if the balance needs it; `assumeOnline` counts members as online (just joined). */
  async rebalance(assumeOnline: readonly number[] = [], offline: ReadonlySet<number> = new Set()): Promise<boolean> {
    // One balancer at a time, and only on the leader: two members changing roles at once race (raft refuses the
    // second change of the same node with "server role is not valid").
    const run = this.balancing.then(() => this.rebalanceOnce(assumeOnline, offline));
    this.balancing = run.then(() => undefined, () => undefined);
    return run;
  }

  private balancing: Promise<void> = Promise.resolve();

  private async rebalanceOnce(assumeOnline: readonly number[], offline: ReadonlySet<number>): Promise<boolean> {
    const db = this.runtime.database;
    if (!db) return false;
    const [raft, leader] = await Promise.all([db.membership.members(), db.leaderAddress()]);
    if (leader !== db.address) return false;
    const leaderId = Number(raft.find((m) => m.address === leader)?.id ?? 0);
    const plan = nextRoleChange(
      raft.map((m) => ({ id: Number(m.id), role: (m.role ?? 0) as RaftRole, online: assumeOnline.includes(Number(m.id)) || !offline.has(Number(m.id)) })),
      await this.roleLimits(),
      leaderId,
    );
    if (!plan) return false;
    this.runtime.log('info', `Changing the database role of member ${plan.id} to ${['voter', 'stand-by', 'spare'][plan.role]}`);
    await db.membership.assign(plan.id, plan.role);
    return true;
  }

  async roleLimits(): Promise<{ maxVoters: number; maxStandby: number }> {
    const v = Number(await this.repo.globalConfig('cluster.max_voters'));
    const s = await this.repo.globalConfig('cluster.max_standby');
    return { maxVoters: v > 0 ? v : CLUSTER_DEFAULTS.maxVoters, maxStandby: s !== undefined && s !== '' ? Number(s) : CLUSTER_DEFAULTS.maxStandby };
  }

  /** The raft members with their names, for joiners and heartbeats. */
  async raftNodes(): Promise<RaftNode[]> {
    const [raft, rows] = await Promise.all([this.runtime.database!.membership.members(), this.repo.members()]);
    const names = new Map(rows.map((r) => [r.id, r.name]));
    return raft.map((m) => ({ id: Number(m.id), address: m.address, role: m.role ?? 0, name: names.get(Number(m.id)) ?? '' }));
  }

  async offlineThreshold(): Promise<number> {
    const v = Number(await this.repo.globalConfig('cluster.offline_threshold'));
    return (v > 0 ? v : CLUSTER_DEFAULTS.offlineThresholdSec) * 1000;
  }

  /** Whether an identity is another member (it presents the cluster certificate). */
  isMember(identity: Identity): boolean {
    const tls = this.runtime.tls;
    return identity.transport === 'tls' && !!tls && identity.fingerprint === tls.fingerprint;
  }

  // ---- helpers -------------------------------------------------------------------------------------------------

  private requireClustered(): void {
    if (!this.clustered) throw badRequest(NOT_CLUSTERED);
  }

  private async raftRoles(): Promise<Map<number, RaftRole>> {
    const members = await this.runtime.database!.membership.members().catch(() => []);
    return new Map(members.map((m) => [Number(m.id), (m.role ?? 0) as RaftRole]));
  }

  private leaderAddress(): Promise<string> {
    return this.runtime.database!.leaderAddress();
  }

  private toApi(row: MemberRow, role: RaftRole | undefined, isLeader: boolean, thresholdMs: number): ClusterMember {
    const self = row.id === this.runtime.member.nodeId;
    const age = Date.now() - Date.parse(row.heartbeat || NO_HEARTBEAT);
    const online = self || age <= thresholdMs;
    return {
      server_name: row.name,
      url: `https://${row.address}`,
      roles: roleNames(role, isLeader),
      database: role === RaftRole.Voter,
      status: row.state === 2 ? 'Evacuated' : online ? 'Online' : 'Offline',
      message: online ? 'Fully operational' : `No heartbeat for ${Math.round(age / 1000)}s (${row.heartbeat})`,
      architecture: architectureName(row.arch),
      failure_domain: 'default',
      description: row.description,
      config: {},
      groups: ['default'],
    };
  }

  private async memberConfigKeys(): Promise<ClusterMemberConfigKey[]> {
    const pools = await this.repo.pools();
    return pools
      .filter((p) => p.driver === 'dir' || p.driver === 'btrfs')
      .map((p) => ({ entity: 'storage-pool', name: p.name, key: 'source', value: '', description: `"source" property for storage pool "${p.name}"` }));
  }

  /** The joiner's per-member keys (storage pool sources); pools without one get the default location. */
  private async applyMemberConfig(keys: ClusterMemberConfigKey[]): Promise<void> {
    for (const k of keys) {
      if (k.entity !== 'storage-pool' || k.key !== 'source') throw badRequest(`Unsupported member config key ${k.entity}/${k.name}/${k.key}`);
    }
    await this.pools.joinMember(Object.fromEntries(keys.map((k) => [k.name, k.value])));
  }
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** LXD's expiry syntax: `3H`, `30M`, `1d`, ... (a number and a unit, several allowed: `1H30M`). */
export function parseExpiry(text: string): number {
  const units: Record<string, number> = { S: 1e3, M: 60e3, H: 3600e3, d: 86400e3, w: 604800e3, m: 2592000e3, y: 31536000e3 };
  let total = 0;
  const re = /(\d+)\s*([SMHdwmy])/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) total += Number(m[1]) * units[m[2]!]!;
  return total > 0 ? total : 3 * 3600e3;
}
