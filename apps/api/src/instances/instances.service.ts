// Instances: records, expansion from profiles, validation, and the storage work of creating and deleting them.
// Power actions live in InstancePowerService; both reach the host through the agent.
import { randomUUID } from 'node:crypto';
import { existsSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Inject, Injectable } from '@nestjs/common';
import type { AgentIdmap, AgentInstanceSpec, AgentPoolRef, AgentVolumeRef, AgentInstanceState, Devices, Instance, InstanceFull, InstancePut, InstanceSnapshot, InstanceState, InstancesPost, Operation } from '@lxdts/api-types';
import type { AgentClient } from '../agent/agent.client.js';
import { type Identity, canAccessProject } from '../auth/identity.js';
import type { DaemonPaths } from '../daemon/paths.js';
import { AGENT_CLIENT, CLUSTER_RUNTIME, DAEMON_PATHS } from '../daemon/tokens.js';
import type { ClusterRuntime } from '../cluster/cluster-runtime.js';
import { localMember } from '../cluster/local-member.js';
import { remoteInstanceStates } from '../cluster/member-states.js';
import { EventsService } from '../events/events.service.js';
import { ApiError, badRequest, conflict, notFound } from '../http/api-error.js';
import { checkEtag } from '../http/etag.js';
import { matchesFilter, parseFilter } from '../http/filter.js';
import { ImagesService } from '../images/images.service.js';
import { OperationsService } from '../operations/operations.service.js';
import { apiUrl } from '../projects/api-url.js';
import { ipToInt, subnetOf } from '../networks/bridge-config.js';
import { parseByteSize } from '../projects/config-validators.js';
import { ProjectsService } from '../projects/projects.service.js';
import { copiesFiles, expandConfig, expandDevices, lxcNameOf, rootDisk, validateInstanceName } from './instance-expansion.js';
import type { InstanceTarget, InstanceTargetResolver } from './instance-target.js';
import { validateInstanceConfig, validateInstanceDevices } from './instance-validation.js';
import { planCopy } from './instance-copy.js';
import { createdIdmapKeys } from './instance-idmap.js';
import { InstanceSnapshotsRepository, type SnapshotRow } from './instance-snapshots.repository.js';
import { type InstanceRow, InstancesRepository, type NewInstance, type ProfileData } from './instances.repository.js';

/** The part of an instance its ETag covers (LXD: architecture, config, devices, ephemeral, profiles). */
export const instanceEtag = (i: Pick<Instance, 'architecture' | 'config' | 'devices' | 'ephemeral' | 'profiles'>): unknown[] => [
  i.architecture,
  i.config,
  i.devices,
  i.ephemeral,
  i.profiles,
];

/** The device types LXD's database stores (lxd/db/cluster/devices.go). */
const DEVICE_TYPES = new Set(['none', 'nic', 'disk', 'unix-char', 'unix-block', 'usb', 'gpu', 'infiniband', 'proxy', 'unix-hotplug', 'tpm', 'pci']);

export interface Expanded {
  config: Record<string, string>;
  devices: Devices;
}

const STOPPED = { status: 'Stopped', status_code: 102, pid: 0 };
/** An instance whose state the agent could not read. */
const UNREADABLE = { status: 'Error', status_code: 112, pid: 0 };

/** Profiles of each project's profile store, loaded once per request. */
/** What an import recreates (instance-backups.service.ts ImportPlan). */
export interface BackupInstance {
  name: string;
  architecture: string;
  ephemeral: boolean;
  description: string;
  profiles: string[];
  config: Record<string, string>;
  devices: Devices;
  /** The backup holds btrfs send streams: only a btrfs pool can take it. */
  optimized?: boolean;
}

type ProfileCache = Map<string, Promise<Map<string, ProfileData & { id: number }>>>;

function stoppedState(): InstanceState {
  return {
    status: 'Stopped',
    status_code: 102,
    disk: {},
    memory: { usage: 0, usage_peak: 0, swap_usage: 0, swap_usage_peak: 0 },
    network: null,
    pid: 0,
    processes: 0,
    cpu: { usage: 0 },
  };
}

@Injectable()
export class InstancesService implements InstanceTargetResolver {
  constructor(
    readonly repo: InstancesRepository,
    private readonly projects: ProjectsService,
    private readonly images: ImagesService,
    private readonly operations: OperationsService,
    private readonly events: EventsService,
    @Inject(AGENT_CLIENT) readonly agent: AgentClient,
    @Inject(CLUSTER_RUNTIME) private readonly cluster: ClusterRuntime,
    private readonly snapshots: InstanceSnapshotsRepository,
    @Inject(DAEMON_PATHS) private readonly paths: DaemonPaths,
  ) {}

  /**
   * States for rows that may sit on several members: this member's agent for its own, one request per other
   * member for theirs (an unreachable member's instances read as Error, as LXD shows them).
   */
  private async statesOf(rows: readonly InstanceRow[]): Promise<Record<string, AgentInstanceState | null>> {
    const self = localMember.nodeId;
    const local = rows.filter((r) => r.nodeId === self || !this.cluster.member.clustered);
    const remote = new Map<number, InstanceRow[]>();
    for (const r of rows) if (!local.includes(r)) remote.set(r.nodeId, [...(remote.get(r.nodeId) ?? []), r]);
    const parts = await Promise.all([
      local.length ? this.agent.states(local.map((r) => lxcNameOf(r.project, r.name))) : Promise.resolve({}),
      ...[...remote.entries()].map(async ([nodeId, rs]) => {
        const address = (await this.repo.memberAddress(nodeId)) ?? '';
        return remoteInstanceStates(this.cluster, address, rs.map((r) => lxcNameOf(r.project, r.name)));
      }),
    ]);
    return Object.assign({}, ...parts) as Record<string, AgentInstanceState | null>;
  }

  /** Cached unpacked copies of an image go with the image, in every pool. */
  onModuleInit(): void {
    this.images.registerDeleteHook(async (fingerprint: string) => {
      for (const pool of await this.repo.poolNames()) {
        const poolRef = await this.repo.pool(pool);
        if (poolRef) await this.agent.deleteImage({ ...poolRef, fingerprint }).catch(() => undefined);
      }
    });
  }

  /** Whether this member is part of a cluster (instances elsewhere are other members' business). */
  get clustered(): boolean {
    return this.cluster.member.clustered;
  }

  url(project: string, name: string): string {
    return apiUrl(['instances', name], project);
  }

  /** Operation resources as LXD lists them: the instances, and the same under their legacy /1.0/containers URLs. */
  resources(...items: { project: string; name: string }[]): Record<string, string[]> {
    return {
      instances: items.map((i) => this.url(i.project, i.name)),
      containers: items.map((i) => apiUrl(['containers', i.name], i.project)),
    };
  }

  lifecycle(action: string, project: string, name: string, identity: Identity | undefined, context?: Record<string, unknown>): void {
    this.events.lifecycle(action, this.url(project, name), project, identity, context ?? null);
  }

  async find(project: string, name: string): Promise<InstanceRow> {
    const row = await this.repo.findByProjectName(project, name);
    if (row) return row;
    if ((await this.repo.projectId(project)) === undefined) throw notFound('Project not found');
    throw notFound('Instance not found');
  }

  /** `cache` (one per request) keeps a list from loading the same project's profiles once per row. */
  async expanded(row: Pick<InstanceRow, 'project' | 'profiles' | 'config' | 'devices'>, cache?: ProfileCache): Promise<Expanded> {
    const load = async () => {
      const profileProject = await this.projects.profileProject(row.project);
      const names = cache ? undefined : row.profiles;
      return this.repo.profiles(profileProject.id, names ?? (await this.repo.profileNames(profileProject.id)));
    };
    let profiles: Awaited<ReturnType<typeof load>>;
    if (cache) {
      let pending = cache.get(row.project);
      if (!pending) cache.set(row.project, (pending = load()));
      profiles = await pending;
    } else profiles = await load();
    const ordered = row.profiles.map((n) => profiles.get(n)).filter((p) => p !== undefined);
    return { config: expandConfig(ordered, row.config), devices: expandDevices(ordered, row.devices) };
  }

  async resolve(project: string, name: string): Promise<InstanceTarget> {
    // The agent's answers (no process spawned for either) come while the database is read: asked before the row is
    // found, since the container's name follows from the request (an unknown one is simply Stopped).
    const lxcName = lxcNameOf(project, name);
    const early = Promise.all([this.statusOf(lxcName), this.agent.ready()]);
    early.catch(() => undefined);
    const row = await this.find(project, name);
    const [[status, ready], { config, devices }] = await Promise.all([early, this.expanded(row)]);
    const source = (await this.repo.poolSource(rootDisk(devices)?.pool ?? '')) ?? '';
    const privileged = config['security.privileged'] === 'true';
    return {
      name: row.name,
      project: row.project,
      lxcName,
      rootfsPath: `${source}/containers/${lxcName}/rootfs`,
      status: status.status,
      uidBase: privileged ? 0 : (ready.defaultIdmap?.uidBase ?? 0),
      gidBase: privileged ? 0 : (ready.defaultIdmap?.gidBase ?? 0),
      expandedConfig: config,
    };
  }

  /** What the agent needs to start (or check) the container with this expanded config and these devices. */
  async agentSpec(row: InstanceRow, { config, devices }: Expanded): Promise<AgentInstanceSpec> {
    const privileged = config['security.privileged'] === 'true';
    const [idmap, source] = await Promise.all([this.idmapFor(config), this.repo.poolSource(rootDisk(devices)?.pool ?? '')]);
    if (!privileged && !idmap) throw badRequest('No uid/gid allocation configured for root in /etc/subuid and /etc/subgid');
    const lxcName = lxcNameOf(row.project, row.name);
    return {
      name: row.name,
      project: row.project,
      lxcName,
      rootfsPath: `${source ?? ''}/containers/${lxcName}/rootfs`,
      architecture: row.architecture,
      config,
      devices: await this.resolveNetworkNics(row.project, await this.resolveCustomVolumes(row.project, devices, idmap !== null)),
      idmap,
    };
  }

  /**
   * Disk devices on a custom volume (`pool` + `source` = volume name) get the volume's host path as their source,
   * mounted idmapped in an unprivileged container (its files stay owned as the container's ids show them).
   */
  private async resolveCustomVolumes(project: string, devices: Devices, unprivileged: boolean): Promise<Devices> {
    const out: Devices = {};
    for (const [name, d] of Object.entries(devices)) {
      const source = d['source'] ?? '';
      if (d['type'] !== 'disk' || !d['pool'] || d['path'] === '/' || source === '' || source.startsWith('/')) {
        out[name] = d;
        continue;
      }
      const pool = await this.repo.pool(d['pool']);
      if (!pool) throw badRequest(`Storage pool "${d['pool']}" of device "${name}" has no source on this member`);
      if (!(await this.repo.customVolumeExists(d['pool'], project, source))) throw badRequest(`Storage volume "${source}" of device "${name}" not found in pool "${d['pool']}"`);
      const { pool: _pool, ...rest } = d;
      out[name] = { ...rest, source: `${pool.poolSource}/custom/${project}_${source}`, ...(unprivileged ? { shift: 'true' } : {}) };
    }
    return out;
  }

  /** A NIC's static `ipv4.address` on a managed network lies in that network's subnet and is not its gateway. */
  private async checkNicAddresses(project: string, devices: Devices): Promise<void> {
    for (const [name, d] of Object.entries(devices)) {
      const address = d['ipv4.address'];
      if (d['type'] !== 'nic' || !address || !d['network']) continue;
      const cidr = (await this.repo.managedNetwork(project, d['network']))?.config['ipv4.address'] ?? '';
      const subnet = subnetOf(cidr);
      const ip = ipToInt(address);
      if (ip === null) throw badRequest(`Invalid value for device "${name}" option "ipv4.address": invalid IPv4 address "${address}"`);
      if (!subnet) throw badRequest(`Device "${name}": network "${d['network']}" has no IPv4 subnet for a static address`);
      if (ip <= subnet.first || ip >= subnet.last || ip === subnet.address) {
        throw badRequest(`Device "${name}": IP address "${address}" is not usable in network "${d['network']}" (${cidr})`);
      }
    }
  }

  /** NICs on a managed `macvlan` network become macvlans of its parent (bridges keep `network`: the agent knows them). */
  private async resolveNetworkNics(project: string, devices: Devices): Promise<Devices> {
    const out: Devices = {};
    for (const [name, d] of Object.entries(devices)) {
      const network = d['type'] === 'nic' ? d['network'] : undefined;
      const managed = network ? await this.repo.managedNetwork(project, network) : undefined;
      if (!managed || managed.type !== 'macvlan') {
        out[name] = d;
        continue;
      }
      const config = managed.config;
      const { network: _network, ...rest } = d;
      out[name] = { ...rest, nictype: 'macvlan', parent: config['parent'] ?? '', ...(config['mtu'] && !d['mtu'] ? { mtu: config['mtu'] } : {}) };
    }
    return out;
  }

  /** Every custom volume the devices name exists in the instance's project (LXD refuses the device otherwise). */
  private async checkCustomVolumes(project: string, devices: Devices): Promise<void> {
    for (const [name, d] of Object.entries(devices)) {
      const source = d['source'] ?? '';
      if (d['type'] !== 'disk' || !d['pool'] || d['path'] === '/' || source === '' || source.startsWith('/')) continue;
      if (!(await this.repo.customVolumeExists(d['pool'], project, source))) {
        throw badRequest(`Failed add validation for device "${name}": Storage volume "${source}" not found in pool "${d['pool']}"`);
      }
    }
  }

  /** The map a container with this expanded config runs with: none when privileged, else the host's default. */
  async idmapFor(expandedConfig: Record<string, string>): Promise<AgentIdmap | null> {
    if (expandedConfig['security.privileged'] === 'true') return null;
    return (await this.agent.ready()).defaultIdmap;
  }

  /** Live status from the agent; unknown containers are Stopped. */
  async statusOf(lxcName: string): Promise<{ status: string; status_code: number; pid: number }> {
    return this.agent.instance(lxcName);
  }

  async list(project: string, allProjects: boolean, recursion: number, filter: string): Promise<(string | Instance | InstanceFull)[]> {
    const expr = parseFilter(filter);
    let projectId: number | null = null;
    if (!allProjects) {
      projectId = (await this.repo.projectId(project)) ?? null;
      if (projectId === null) throw notFound('Project not found');
    }
    // Standalone, every instance is this host's: the agent reads the states of the running ones while the rows are
    // read here (one request; the instances it does not list are Stopped).
    const early = recursion >= 2 && !this.cluster.member.clustered ? this.agent.activeStates() : null;
    early?.catch(() => undefined);
    const rows = await this.repo.list(projectId);
    if (recursion === 0 && !expr) return rows.map((r) => this.url(r.project, r.name));
    const cache: ProfileCache = new Map();
    const out: (Instance | InstanceFull)[] = [];
    if (recursion >= 2 || (this.cluster.member.clustered && rows.some((r) => r.nodeId !== localMember.nodeId))) {
      // Every state in one agent request per member (read from /proc there): status and state from the same reading.
      // The agent reads while the profiles are expanded here.
      const [states, expanded, snapshots] = await Promise.all([
        early ?? this.statesOf(rows),
        this.expandAll(rows, cache),
        recursion >= 2 ? this.snapshots.listFor(rows.map((r) => r.id)) : new Map<number, SnapshotRow[]>(),
      ]);
      for (const [i, row] of rows.entries()) {
        const state = states[lxcNameOf(row.project, row.name)];
        const inst = this.render(row, state === undefined ? STOPPED : (state ?? UNREADABLE), expanded[i] as Expanded);
        const snaps = snapshots.get(row.id);
        out[i] =
          recursion >= 2
            ? {
                ...inst,
                state: inst.status === 'Stopped' ? stoppedState() : (state ?? null),
                snapshots: snaps ? await this.renderSnapshots(row, snaps, cache) : null,
                backups: null,
              }
            : inst;
      }
    } else {
      const statuses = new Map((await this.agent.listInstances()).map((s) => [s.lxcName, s]));
      for (const [i, row] of rows.entries()) {
        out[i] = await this.toApi(row, statuses.get(lxcNameOf(row.project, row.name)) ?? STOPPED, cache);
      }
    }
    const kept = out.filter((i) => matchesFilter(i, expr));
    return recursion === 0 ? kept.map((i) => this.url(i.project, i.name)) : kept;
  }

  /** recursion=1 on a single instance gives the full object (extension instance_get_full). */
  async get(project: string, name: string, recursion = 0): Promise<Instance | InstanceFull> {
    // The agent answers while the row and the profiles are read (the container's name follows from the request).
    const early = this.statusOf(lxcNameOf(project, name));
    early.catch(() => undefined);
    const row = await this.find(project, name);
    const [status, expanded] = await Promise.all([early, this.expanded(row)]);
    const inst = this.render(row, status, expanded);
    return recursion >= 1 ? this.full(inst, row) : inst;
  }

  async state(project: string, name: string): Promise<InstanceState> {
    const row = await this.find(project, name);
    return this.agent.state(lxcNameOf(row.project, row.name));
  }

  /** Validates, reserves the name (row), then creates the root volume in an operation; failures undo both. */
  async create(project: string, post: InstancesPost, identity: Identity): Promise<Operation> {
    validateInstanceName(post.name);
    if (post.type === 'virtual-machine') throw badRequest('Virtual machines are not supported yet');
    const projectId = await this.repo.projectId(project);
    if (projectId === undefined) throw notFound('Project not found');
    const source = post.source;
    if (source.type === 'copy') return this.createFromCopy(project, projectId, post, identity);
    let image: Awaited<ReturnType<ImagesService['resolve']>> | undefined;
    if (source.type === 'image') {
      image = await this.images.resolve(project, { alias: source.alias || undefined, fingerprint: source.fingerprint || undefined });
    } else if (source.type !== 'none' && source.type !== '') {
      throw badRequest(`Unsupported instance source type "${source.type}"`);
    }
    // image_profiles: without an explicit list, an image's profiles apply (else the default profile).
    const profileNames = post.profiles ?? (image && image.image.profiles.length ? image.image.profiles : ['default']);
    const config: Record<string, string> = { ...post.config };
    const { ordered, poolId, poolRef } = await this.checkNew(project, { ...config }, post.devices, profileNames);
    if (image) {
      for (const [k, v] of Object.entries(image.image.properties)) config[`image.${k}`] = v;
      config['volatile.base_image'] = image.image.fingerprint;
      config['volatile.apply_template'] = 'create';
    }
    config['volatile.uuid'] = randomUUID();
    config['volatile.cloud-init.instance-id'] = randomUUID();
    Object.assign(config, createdIdmapKeys(await this.idmapFor(expandConfig(ordered, config))));
    const devices = post.devices;
    const architecture = image?.image.architecture || post.architecture || 'x86_64';
    await this.reserve(projectId, { name: post.name, architecture, ephemeral: post.ephemeral, description: post.description, config, devices, profileIds: ordered.map((p) => p.id), poolId });
    const lxcName = lxcNameOf(project, post.name);
    return this.operations.start({
      class: 'task',
      description: 'Creating instance',
      project,
      resources: this.resources({ project, name: post.name }),
      run: async () => {
        const volume = { ...poolRef, type: 'containers' as const, name: lxcName };
        try {
          if (image) {
            // One request: the agent unpacks the image into the pool first when it isn't there yet.
            const fromImage = {
              fingerprint: image.image.fingerprint,
              imageFile: image.files.metadata,
              ...(image.files.rootfs ? { rootfsFile: image.files.rootfs } : {}),
            };
            await this.agent.createVolume({ volume, fromImage });
            await this.images.markUsed(image.image.fingerprint, project);
          } else {
            await this.agent.createVolume({ volume });
          }
          await this.applyRootSize(volume, expandDevices(ordered, devices), true);
        } catch (err) {
          await this.undoCreate(projectId, post.name, volume);
          throw err;
        }
        this.lifecycle('instance-created', project, post.name, identity);
      },
    });
  }

  /**
   * `lxc copy` on one server (source type "copy"): a new row with the source's local config, devices and profiles
   * under the request's (per-instance volatile keys left out, `copy` templates pending), then a copy of its volume.
   * A running source is frozen while its volume is copied, as LXD does for dir pools (a btrfs snapshot is atomic).
   */
  private async createFromCopy(project: string, projectId: number, post: InstancesPost, identity: Identity): Promise<Operation> {
    const from = post.source;
    if (!from.source) throw badRequest('Must specify a source instance');
    const sourceProject = from.project || project;
    if (!canAccessProject(identity, sourceProject)) throw notFound('Instance not found');
    // `c/snap0`: a copy of that snapshot (its config, devices and files); else of the instance, with its snapshots
    // unless instance_only.
    const slash = from.source.indexOf('/');
    const src = await this.find(sourceProject, slash < 0 ? from.source : from.source.slice(0, slash));
    const fromSnapshot = slash < 0 ? null : await this.snapshots.find(src.id, from.source.slice(slash + 1));
    if (slash >= 0 && !fromSnapshot) throw notFound('Instance snapshot not found');
    const instanceOnly = from.instance_only || from.container_only;
    if (from.refresh) {
      // --refresh of an instance that exists: only what differs moves (container_incremental_copy); else a copy.
      const target = await this.repo.find(projectId, post.name);
      if (target) {
        if (fromSnapshot) throw badRequest('Refreshing an instance from a snapshot is not supported');
        return this.refreshFromCopy(project, src, target, instanceOnly, identity);
      }
    }
    const snapshots = fromSnapshot || instanceOnly ? [] : await this.snapshots.list(src.id);
    const plan = planCopy(fromSnapshot ?? src, { config: post.config, devices: post.devices });
    const profileNames = post.profiles ?? src.profiles;
    const { ordered, poolId, poolRef } = await this.checkNew(project, plan.config, plan.devices, profileNames);
    // The copied files keep the source's map (volatile.last_state.idmap came with the copy).
    const { 'volatile.last_state.idmap': _copiedState, ...created } = createdIdmapKeys(await this.idmapFor(expandConfig(ordered, plan.config)));
    Object.assign(plan.config, created);
    const srcLxcName = lxcNameOf(src.project, src.name);
    const srcPool = await this.repo.pool(rootDisk((await this.expanded(src)).devices)?.pool ?? '');
    if (!srcPool) throw badRequest(`The storage pool of instance "${src.name}" has no source`);
    if ((srcPool.driver ?? 'dir') !== (poolRef.driver ?? 'dir')) throw badRequest('Copies between storage pools of different drivers are not supported yet');
    await this.reserve(projectId, {
      name: post.name,
      architecture: src.architecture,
      ephemeral: post.ephemeral,
      description: post.description,
      config: plan.config,
      devices: plan.devices,
      profileIds: ordered.map((p) => p.id),
      poolId,
    });
    const lxcName = lxcNameOf(project, post.name);
    return this.operations.start({
      class: 'task',
      description: 'Creating instance',
      project,
      resources: this.resources({ project, name: post.name }, src),
      run: async () => {
        const volume = { ...poolRef, type: 'containers' as const, name: lxcName };
        let frozen = false;
        try {
          if (!fromSnapshot && copiesFiles(srcPool) && (await this.statusOf(srcLxcName)).status === 'Running') {
            await this.agent.freeze(srcLxcName);
            frozen = true;
            this.lifecycle('instance-paused', src.project, src.name, identity);
          }
          await this.agent.copyVolume({
            volume,
            source: { ...srcPool, type: 'containers', name: srcLxcName },
            ...(fromSnapshot ? { sourceSnapshot: fromSnapshot.name } : {}),
            ...(snapshots.length ? { snapshots: snapshots.map((s) => s.name) } : {}),
          });
          await this.applyRootSize(volume, expandDevices(ordered, plan.devices), true);
          if (snapshots.length) {
            const copy = await this.find(project, post.name);
            await this.repo.transaction(async (tx) => {
              for (const s of snapshots) {
                await this.snapshots.insert(tx, { instanceId: copy.id, name: s.name, createdAt: s.createdAt, expiresAt: s.expiresAt, config: s.config, devices: s.devices });
              }
            });
          }
        } catch (err) {
          await this.undoCreate(projectId, post.name, volume);
          throw err;
        } finally {
          if (frozen) {
            await this.agent.unfreeze(srcLxcName).then(
              () => this.lifecycle('instance-resumed', src.project, src.name, identity),
              () => undefined,
            );
          }
        }
        this.lifecycle('instance-created', project, post.name, identity);
      },
    });
  }

  /**
   * `lxc copy --refresh` onto an existing, stopped instance: its snapshots that the source lacks are deleted, the
   * source's missing ones copied, then its files brought in line with the source's (the agent's rsync: only missing
   * or outdated files). Its config stays. The operation's metadata tells how much moved.
   */
  private async refreshFromCopy(project: string, src: InstanceRow, target: InstanceRow, instanceOnly: boolean, identity: Identity): Promise<Operation> {
    const targetLxcName = lxcNameOf(target.project, target.name);
    if ((await this.statusOf(targetLxcName)).status !== 'Stopped') throw badRequest('Cannot refresh a running instance');
    const [srcVolume, volume] = await Promise.all([this.rootVolume(src), this.rootVolume(target)]);
    if (!srcVolume || !volume) throw badRequest('Both instances need a root disk on a storage pool');
    if ((srcVolume.driver ?? 'dir') !== (volume.driver ?? 'dir')) throw badRequest('Refreshes between storage pools of different drivers are not supported yet');
    const [srcSnapshots, targetSnapshots] = instanceOnly ? [[], []] : await Promise.all([this.snapshots.list(src.id), this.snapshots.list(target.id)]);
    const srcNames = new Set(srcSnapshots.map((s) => s.name));
    const targetNames = new Set(targetSnapshots.map((s) => s.name));
    const stale = targetSnapshots.filter((s) => !srcNames.has(s.name));
    const missing = srcSnapshots.filter((s) => !targetNames.has(s.name));
    const srcLxcName = lxcNameOf(src.project, src.name);
    return this.operations.start({
      class: 'task',
      description: 'Creating instance',
      project,
      resources: this.resources({ project, name: target.name }, src),
      run: async () => {
        for (const s of stale) {
          await this.agent.snapshot('delete', { volume, snapshot: s.name });
          await this.snapshots.delete(s.id);
        }
        // Files are copied (rsync) on every driver: a running source is frozen meanwhile, as for a dir copy.
        const frozen = (await this.statusOf(srcLxcName)).status === 'Running' && (await this.agent.freeze(srcLxcName).then(() => true));
        let moved;
        try {
          moved = await this.agent.refreshVolume({ volume, source: srcVolume, snapshots: missing.map((s) => s.name) });
        } finally {
          if (frozen) await this.agent.unfreeze(srcLxcName).catch(() => undefined);
        }
        await this.repo.transaction(async (tx) => {
          for (const s of missing) {
            await this.snapshots.insert(tx, { instanceId: target.id, name: s.name, createdAt: s.createdAt, expiresAt: s.expiresAt, config: s.config, devices: s.devices });
          }
        });
        this.lifecycle('instance-updated', target.project, target.name, identity);
        return { refresh: { bytes_transferred: moved.bytesTransferred, files_transferred: moved.filesTransferred, snapshots_copied: missing.length, snapshots_deleted: stale.length } };
      },
    });
  }

  /** Checks a new instance's profiles, config and devices (in that order); returns its profiles in order and its root pool. */
  private async checkNew(project: string, config: Record<string, string>, devices: Devices, profileNames: string[]) {
    const profileProject = await this.projects.profileProject(project);
    const profiles = await this.repo.profiles(profileProject.id, profileNames);
    for (const n of profileNames) if (!profiles.get(n)) throw badRequest(`Requested profile "${n}" doesn't exist`);
    const ordered = profileNames.map((n) => profiles.get(n)!);
    validateInstanceConfig(config, 'Failed creating instance record');
    // LXD's database refuses a device type it has no code for before any device validation runs.
    for (const d of Object.values(devices)) {
      const type = d['type'] ?? '';
      if (type !== '' && !DEVICE_TYPES.has(type)) throw badRequest(`Failed creating instance record: Invalid device type ${type}`);
    }
    const expandedDevices = expandDevices(ordered, devices);
    const networkProject = await this.projects.networkProject(await this.projectRow(project));
    validateInstanceDevices(devices, expandedDevices, {
      pools: await this.repo.poolNames(),
      networks: await this.repo.networkTypes(networkProject.id),
      networkProject: networkProject.name,
    });
    await this.checkCustomVolumes(project, expandedDevices);
    await this.checkNicAddresses(project, expandedDevices);
    const pool = rootDisk(expandedDevices)!.pool;
    const poolId = (await this.repo.poolId(pool))!;
    const poolRef = await this.repo.pool(pool);
    if (!poolRef) throw badRequest(`Storage pool "${pool}" has no source`);
    return { ordered, pool, poolId, poolRef };
  }

  /**
   * The root disk's `size` as the volume's quota (btrfs qgroup limit; dir pools have none, as LXD's here). A `fresh`
   * volume (just made: no limit yet) needs nothing when there is no size.
   */
  async applyRootSize(volume: AgentVolumeRef, devices: Devices, fresh = false): Promise<void> {
    if ((volume.driver ?? 'dir') === 'dir') return;
    const root = rootDisk(devices);
    const size = (root && devices[root.name]?.['size']) || '';
    if (fresh && size === '') return;
    let bytes = 0;
    try {
      bytes = size === '' ? 0 : parseByteSize(size);
    } catch (err) {
      throw badRequest(`Invalid root disk size "${size}": ${(err as Error).message}`);
    }
    await this.agent.setQuota({ volume, size: bytes });
  }

  /** Reserves the name: the row (and its volume row) exist before any storage work starts. */
  private async reserve(projectId: number, inst: Omit<NewInstance, 'projectId'>): Promise<number> {
    return this.repo.transaction(async (tx) => {
      if (await this.repo.find(projectId, inst.name, tx)) {
        throw conflict('Failed creating instance record: Add instance info to the database: This "instances" entry already exists');
      }
      return this.repo.insert(tx, { ...inst, projectId });
    });
  }

  /** A failed creation leaves nothing: the (partial) volume and the rows go. */
  private async undoCreate(projectId: number, name: string, volume: AgentVolumeRef): Promise<void> {
    await this.agent.deleteVolume({ volume }).catch(() => undefined);
    const row = await this.repo.find(projectId, name);
    if (row) await this.repo.transaction((tx) => this.repo.delete(tx, row));
  }

  /** PUT (presence null) replaces; PATCH merges config and devices. Running containers keep running. */
  async update(project: string, name: string, put: InstancePut, presence: ReadonlySet<string> | null, ifMatch: string | undefined, identity: Identity): Promise<void> {
    const row = await this.find(project, name);
    const current = await this.toApi(row, STOPPED);
    checkEtag(ifMatch, instanceEtag(current));
    const has = (k: string) => presence === null || presence.has(k);
    const volatile = Object.fromEntries(Object.entries(row.config).filter(([k]) => k.startsWith('volatile.') || k.startsWith('image.')));
    let config: Record<string, string>;
    if (!has('config')) config = row.config;
    else if (presence === null) config = { ...volatile, ...put.config };
    else config = { ...row.config, ...put.config };
    config = Object.fromEntries(Object.entries(config).filter(([, v]) => v !== ''));
    const devices = !has('devices') ? row.devices : presence === null ? put.devices : { ...row.devices, ...put.devices };
    const profileNames = has('profiles') ? put.profiles ?? [] : row.profiles;
    validateInstanceConfig(Object.fromEntries(Object.entries(config).filter(([k]) => !(k in volatile) || put.config[k] !== undefined)));
    const profileProject = await this.projects.profileProject(project);
    const profiles = await this.repo.profiles(profileProject.id, profileNames);
    for (const n of profileNames) if (!profiles.get(n)) throw badRequest(`Requested profile "${n}" doesn't exist`);
    const ordered = profileNames.map((n) => profiles.get(n)!);
    const expandedDevices = expandDevices(ordered, devices);
    const networkProject = await this.projects.networkProject(await this.projectRow(project));
    validateInstanceDevices(devices, expandedDevices, {
      pools: await this.repo.poolNames(),
      networks: await this.repo.networkTypes(networkProject.id),
      networkProject: networkProject.name,
    });
    await this.checkCustomVolumes(project, expandedDevices);
    await this.checkNicAddresses(project, expandedDevices);
    const oldDevices = (await this.expanded(row)).devices;
    const oldRoot = rootDisk(oldDevices);
    const newRoot = rootDisk(expandedDevices);
    if (oldRoot && newRoot?.pool !== oldRoot.pool) throw badRequest('Changing the root disk pool is not supported');
    // A new root size is the volume's new limit (applied first: a size the pool refuses changes nothing).
    if (oldRoot && newRoot && (oldDevices[oldRoot.name]?.['size'] ?? '') !== (expandedDevices[newRoot.name]?.['size'] ?? '')) {
      const volume = await this.rootVolume(row);
      if (volume) {
        await this.applyRootSize(volume, expandedDevices).catch((err: Error) => {
          if (err instanceof ApiError) throw err;
          throw badRequest(`Failed to set the root disk size: ${err.message}`);
        });
      }
    }
    const lxcName = lxcNameOf(project, name);
    const status = await this.statusOf(lxcName);
    const live = status.status === 'Running' || status.status === 'Frozen';
    let nicVolatile: Record<string, string> = {};
    // A running container's devices must be startable now (LXD starts added ones at once): check before saving,
    // and disks added, changed or removed are mounted or unmounted in it now (hot-plug).
    if (live) {
      const spec = await this.agentSpec(row, { config: expandConfig(ordered, config), devices: expandedDevices });
      await this.agent.checkDevices(spec);
      const change = diskChanges(oldDevices, expandedDevices);
      if (change.add.length || change.remove.length) {
        await this.agent.hotplugDisks(spec, change).catch((err: Error) => {
          throw badRequest(`Failed to update the disks of the running instance: ${err.message}`);
        });
      }
      // NICs too: removed ones go (by their name inside and veth host side), added ones are plugged in.
      const nics = nicChanges(oldDevices, expandedDevices);
      if (nics.add.length || nics.remove.length) {
        const remove = nics.remove.map((dev) => ({
          name: row.config[`volatile.${dev}.name`] || oldDevices[dev]?.['name'] || '',
          hostName: row.config[`volatile.${dev}.host_name`] || '',
        }));
        const chosen = await this.agent.hotplugNics(spec, { add: nics.add, remove }).catch((err: Error) => {
          throw badRequest(`Failed to update the NICs of the running instance: ${err.message}`);
        });
        nicVolatile = chosen;
      }
    }
    await this.repo.transaction((tx) =>
      this.repo.update(tx, row.id, {
        config,
        devices,
        profileIds: ordered.map((p) => p.id),
        description: has('description') ? put.description : row.description,
        ephemeral: has('ephemeral') ? put.ephemeral : row.ephemeral,
      }),
    );
    if (Object.keys(nicVolatile).length) await this.repo.setConfig(row.id, nicVolatile);
    if (live) {
      const limits = Object.fromEntries(
        Object.entries(expandConfig(ordered, config)).filter(([k]) => k.startsWith('limits.')),
      );
      await this.agent.applyLimits(lxcName, { config: limits }).catch((err: Error) => {
        throw badRequest(`Failed to apply the new limits to the running instance: ${err.message}`);
      });
    }
    this.lifecycle('instance-updated', project, name, identity);
  }

  async rename(project: string, name: string, newName: string, identity: Identity): Promise<Operation> {
    validateInstanceName(newName);
    const row = await this.find(project, name);
    const lxcName = lxcNameOf(project, name);
    if ((await this.statusOf(lxcName)).status !== 'Stopped') throw badRequest('Renaming of running instance not allowed');
    if (await this.repo.find(row.projectId, newName)) throw conflict(`Name "${newName}" already in use`);
    const volume = await this.rootVolume(row);
    const newLxcName = lxcNameOf(project, newName);
    if (volume) await this.agent.renameVolume({ volume, newName: newLxcName });
    await this.agent.rename(lxcName, newLxcName).catch(() => undefined);
    // Its backup files go along (LXD's backups/instances/<name>).
    const backups = join(this.paths.varDir, 'backups', 'instances');
    if (existsSync(join(backups, lxcName))) renameSync(join(backups, lxcName), join(backups, newLxcName));
    await this.repo.transaction((tx) => this.repo.rename(tx, row, newName));
    this.lifecycle('instance-renamed', project, newName, identity, { old_name: name });
    return this.noop(project, newName, 'Renaming instance');
  }

  async delete(project: string, name: string, identity: Identity): Promise<Operation> {
    const row = await this.find(project, name);
    const lxcName = lxcNameOf(project, name);
    const [status, volume] = await Promise.all([this.statusOf(lxcName), this.rootVolume(row)]);
    if (status.status !== 'Stopped') throw badRequest('Instance is running');
    return this.operations.start({
      class: 'task',
      description: 'Deleting instance',
      project,
      resources: this.resources({ project, name }),
      run: () => this.destroy(row, identity, volume ?? null),
    });
  }

  /** The pool holding the instance's root volume, for the agent (undefined without one). */
  async rootPool(row: InstanceRow): Promise<AgentPoolRef | undefined> {
    const { devices } = await this.expanded(row);
    return this.repo.pool(rootDisk(devices)?.pool ?? '');
  }

  /** The instance's root volume, for the agent (undefined without a root disk on a pool). */
  async rootVolume(row: InstanceRow): Promise<AgentVolumeRef | undefined> {
    const pool = await this.rootPool(row);
    return pool ? { ...pool, type: 'containers', name: lxcNameOf(row.project, row.name) } : undefined;
  }

  /** Removes a stopped instance's container config, volume and rows. */
  async destroy(row: InstanceRow, identity?: Identity, rootVolume?: AgentVolumeRef | null): Promise<void> {
    const lxcName = lxcNameOf(row.project, row.name);
    const volume = rootVolume === undefined ? await this.rootVolume(row) : rootVolume;
    // One request: the agent removes liblxc's files, then (the container being stopped, or it refuses) the volume.
    await this.agent.delete(lxcName, volume ? { volume } : {});
    await this.repo.transaction((tx) => this.repo.delete(tx, row));
    rmSync(join(this.paths.varDir, 'backups', 'instances', lxcName), { recursive: true, force: true });
    this.lifecycle('instance-deleted', row.project, row.name, identity);
  }

  /** A finished operation for changes LXD answers asynchronously but that are already done. */
  async noop(project: string, name: string, description: string): Promise<Operation> {
    const url = this.url(project, name);
    return this.operations.start({ class: 'task', description, project, resources: { instances: [url] }, run: async () => undefined });
  }

  /** Expanded config and devices of each row, in order (profiles read once per project and name through `cache`). */
  private async expandAll(rows: readonly InstanceRow[], cache: ProfileCache): Promise<Expanded[]> {
    const out: Expanded[] = [];
    for (const row of rows) out.push(await this.expanded(row, cache));
    return out;
  }

  /** Snapshots as the API shows them: their own config and devices, expanded with the instance's profiles. */
  async renderSnapshots(row: InstanceRow, snaps: readonly SnapshotRow[], cache?: ProfileCache): Promise<InstanceSnapshot[]> {
    const out: InstanceSnapshot[] = [];
    for (const s of snaps) {
      const { config, devices } = await this.expanded({ project: row.project, profiles: row.profiles, config: s.config, devices: s.devices }, cache);
      out.push({
        architecture: row.architecture,
        config: s.config,
        created_at: s.createdAt,
        devices: s.devices,
        ephemeral: row.ephemeral,
        expanded_config: config,
        expanded_devices: devices,
        expires_at: s.expiresAt ?? '0001-01-01T00:00:00Z',
        last_used_at: '0001-01-01T00:00:00Z',
        name: s.name,
        profiles: row.profiles,
        size: -1,
        stateful: s.stateful,
      });
    }
    return out;
  }

  /** An instance's profiles (config and devices), in apply order. */
  async profilesOf(row: InstanceRow): Promise<(ProfileData & { id: number })[]> {
    const profileProject = await this.projects.profileProject(row.project);
    const profiles = await this.repo.profiles(profileProject.id, row.profiles);
    return row.profiles.flatMap((n) => {
      const p = profiles.get(n);
      return p ? [p] : [];
    });
  }

  /** What an import (`lxc import`) is checked for before its operation starts: its name, profiles, config, devices. */
  async checkImport(project: string, plan: BackupInstance): Promise<void> {
    validateInstanceName(plan.name);
    const projectId = await this.repo.projectId(project);
    if (projectId === undefined) throw notFound('Project not found');
    if (await this.repo.find(projectId, plan.name)) throw conflict(`Instance "${plan.name}" already exists`);
    const { poolRef } = await this.checkNew(project, { ...plan.config }, plan.devices, plan.profiles);
    const driver = poolRef.driver ?? 'dir';
    if (plan.optimized && driver !== 'btrfs') throw badRequest(`Optimized backups can only be imported into a btrfs pool, not a ${driver} one`);
  }

  /**
   * An instance as a backup describes it: the row first (the backup's config, volatile keys included, as LXD keeps
   * them; stopped), then `fill` puts its files and snapshots in place; a failure takes everything back.
   */
  async createFromBackup(project: string, plan: BackupInstance, fill: (row: InstanceRow, volume: AgentVolumeRef) => Promise<void>, identity: Identity): Promise<void> {
    const projectId = await this.repo.projectId(project);
    if (projectId === undefined) throw notFound('Project not found');
    const { ordered, poolId, poolRef } = await this.checkNew(project, { ...plan.config }, plan.devices, plan.profiles);
    const volume = { ...poolRef, type: 'containers' as const, name: lxcNameOf(project, plan.name) };
    const { 'volatile.last_state.power': _power, ...config } = plan.config;
    await this.reserve(projectId, {
      name: plan.name,
      architecture: plan.architecture,
      ephemeral: plan.ephemeral,
      description: plan.description,
      config,
      devices: plan.devices,
      profileIds: ordered.map((p) => p.id),
      poolId,
    });
    try {
      await fill(await this.find(project, plan.name), volume);
      await this.applyRootSize(volume, expandDevices(ordered, plan.devices), true);
    } catch (err) {
      await this.undoCreate(projectId, plan.name, volume);
      throw err;
    }
    this.lifecycle('instance-created', project, plan.name, identity);
  }

  /** The ids of an instance's profiles, in apply order. */
  async profileIds(row: InstanceRow): Promise<number[]> {
    const profileProject = await this.projects.profileProject(row.project);
    const profiles = await this.repo.profiles(profileProject.id, row.profiles);
    return row.profiles.flatMap((n) => {
      const p = profiles.get(n);
      return p ? [p.id] : [];
    });
  }

  async toApi(row: InstanceRow, status: { status: string; status_code: number }, cache?: ProfileCache): Promise<Instance> {
    return this.render(row, status, await this.expanded(row, cache));
  }

  private render(row: InstanceRow, status: { status: string; status_code: number }, { config, devices }: Expanded): Instance {
    return {
      architecture: row.architecture,
      config: row.config,
      devices: row.devices,
      ephemeral: row.ephemeral,
      profiles: row.profiles,
      stateful: row.stateful,
      description: row.description,
      created_at: row.createdAt,
      expanded_config: config,
      expanded_devices: devices,
      name: row.name,
      status: status.status,
      status_code: status.status_code,
      last_used_at: row.lastUsedAt ?? '1970-01-01T00:00:00Z',
      location: this.cluster.member.clustered ? row.location : 'none',
      type: row.type,
      project: row.project,
    };
  }

  private async full(inst: Instance, row: InstanceRow): Promise<InstanceFull> {
    const state =
      inst.status === 'Stopped'
        ? stoppedState()
        : await this.agent.state(lxcNameOf(row.project, row.name)).catch(() => null);
    // LXD sends null for empty lists here (no backups yet).
    const snapshots = await this.renderSnapshots(row, await this.snapshots.list(row.id));
    return { ...inst, state, snapshots: snapshots.length ? snapshots : null, backups: null };
  }

  private projectRow(project: string) {
    return this.projects.row(project);
  }
}

/** Non-root disk devices to mount (added or changed: by name) and to unmount (removed or changed: old paths). */
function diskChanges(before: Devices, after: Devices): { add: string[]; remove: string[] } {
  const disk = (d: Record<string, string> | undefined) => d !== undefined && d['type'] === 'disk' && d['path'] !== '/' && (d['path'] ?? '') !== '';
  const same = (a: Record<string, string>, b: Record<string, string>) => JSON.stringify(Object.entries(a).sort()) === JSON.stringify(Object.entries(b).sort());
  const add: string[] = [];
  const remove: string[] = [];
  for (const [name, d] of Object.entries(before)) {
    if (!disk(d)) continue;
    const next = after[name];
    if (!next || !same(d, next)) remove.push(d['path'] as string);
  }
  for (const [name, d] of Object.entries(after)) {
    if (!disk(d)) continue;
    const prev = before[name];
    if (!prev || !same(prev, d)) add.push(name);
  }
  return { add, remove };
}

/** NIC devices added or changed (by name) and removed or changed (by name) between two expanded device sets. */
function nicChanges(before: Devices, after: Devices): { add: string[]; remove: string[] } {
  const same = (a: Record<string, string>, b: Record<string, string>) => JSON.stringify(Object.entries(a).sort()) === JSON.stringify(Object.entries(b).sort());
  const add = Object.entries(after).filter(([n, d]) => d['type'] === 'nic' && !(before[n] && same(before[n] as Record<string, string>, d))).map(([n]) => n);
  const remove = Object.entries(before).filter(([n, d]) => d['type'] === 'nic' && !(after[n] && same(after[n] as Record<string, string>, d))).map(([n]) => n);
  return { add, remove };
}
