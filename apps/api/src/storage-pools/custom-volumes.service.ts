// Custom storage volumes (filesystem): create (empty or a copy), update, rename, move to another pool, delete,
// snapshots (create, rename, delete, restore). The files are the agent's (`<pool>/custom/<project>_<name>`, its
// snapshots under `custom-snapshots/`); rows in storage_volumes(+_config, _snapshots). Instances use a volume through
// a disk device with `pool` and `source` (lxc storage volume attach): the API resolves it to the host path
// (instances.service.ts agentSpec) and the container sees it through an idmapped mount.
import { Inject, Injectable } from '@nestjs/common';
import type {
  AgentPoolRef,
  AgentVolumeRef,
  Operation,
  StorageVolumePost,
  StorageVolumePutRequest,
  StorageVolumeSnapshot,
  StorageVolumeSnapshotsPost,
  StorageVolumesPost,
} from '@lxdts/api-types';
import type { AgentClient } from '../agent/agent.client.js';
import type { Identity } from '../auth/identity.js';
import { AGENT_CLIENT } from '../daemon/tokens.js';
import { EventsService } from '../events/events.service.js';
import { badRequest, conflict, notFound } from '../http/api-error.js';
import { validateEntityName } from '../http/entity-name.js';
import { lxcNameOf } from '../instances/instance-expansion.js';
import { DEFAULT_PATTERN, nextSnapshotName, parseSnapshotExpiry, validateSnapshotName } from '../instances/snapshot-names.js';
import { OperationsService } from '../operations/operations.service.js';
import { apiUrl } from '../projects/api-url.js';
import { parseByteSize } from '../projects/config-validators.js';
import { validateVolumeConfig } from './storage-pool-config.js';
import { StoragePoolsRepository } from './storage-pools.repository.js';
import { CUSTOM_VOLUME, StorageVolumesRepository, type VolumeRow, type VolumeSnapshotRow } from './storage-volumes.repository.js';

/** The agent calls custom volumes make. */
export type CustomVolumeAgent = Pick<
  AgentClient,
  'createVolume' | 'deleteVolume' | 'renameVolume' | 'copyVolume' | 'snapshot' | 'renameSnapshot' | 'setQuota' | 'instance' | 'volumeUsage'
>;

/** A custom volume's directory name in its pool: always `<project>_<name>`, as LXD's. */
export const customVolumeStorageName = (project: string, name: string): string => `${project}_${name}`;

export interface Loaded {
  pool: { id: number; name: string };
  ref: AgentPoolRef;
  row: VolumeRow;
  volume: AgentVolumeRef;
}

@Injectable()
export class CustomVolumesService {
  /** Volume changes touch files and rows together; one at a time keeps them consistent. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly pools: StoragePoolsRepository,
    private readonly repo: StorageVolumesRepository,
    private readonly operations: OperationsService,
    private readonly events: EventsService,
    @Inject(AGENT_CLIENT) private readonly agent: CustomVolumeAgent,
  ) {}

  url(pool: string, project: string, name: string): string {
    return apiUrl(['storage-pools', pool, 'volumes', 'custom', name], project);
  }

  /**
   * POST …/volumes[/custom]: an empty volume (sync), or a copy of another (an operation). With `fill` (an import),
   * an operation that reserves the row and lets `fill` put the files and snapshots in place; undone if it fails.
   */
  async create(
    poolName: string,
    project: string,
    post: StorageVolumesPost,
    identity: Identity,
    fill?: (volumeId: number, volume: AgentVolumeRef) => Promise<void>,
  ): Promise<Operation | null> {
    if (post.type !== '' && post.type !== 'custom') throw badRequest(`Storage volumes of type "${post.type}" cannot be created directly`);
    if (post.content_type !== '' && post.content_type !== 'filesystem') throw badRequest(`Content type "${post.content_type}" is not supported yet (filesystem only)`);
    validateVolumeName(post.name);
    for (const key of Object.keys(post.config)) if (key.startsWith('volatile.')) throw badRequest(`Invalid option "${key}"`);
    validateVolumeConfig(post.config);
    const pool = await this.poolOf(poolName);
    const projectId = await this.repo.projectId(project);
    if (projectId === undefined) throw notFound('Project not found');
    const source = post.source?.type ?? '';
    if (source !== '' && source !== 'copy' && !(fill && source === 'restore')) throw badRequest(`Unsupported volume source type "${source}"`);
    const from = source === 'copy' ? await this.load(post.source.pool || poolName, project, post.source.name) : null;
    // The pool's volume.* keys are the new volume's defaults, as LXD fills them in.
    const config = { ...volumeDefaults(pool.config), ...(from ? from.row.config : {}), ...post.config };
    const volume: AgentVolumeRef = { ...pool.ref, type: 'custom', name: customVolumeStorageName(project, post.name) };
    const size = sizeOf(config);
    const snapshots = from && !post.source.volume_only ? await this.repo.snapshots(from.row.id) : [];

    const reserve = () =>
      this.serialized(async () => {
        if ((await this.repo.list({ poolId: pool.id, project, type: CUSTOM_VOLUME, name: post.name })).length > 0) {
          throw conflict(`Volume by that name already exists`);
        }
        return this.repo.transaction((tx) =>
          this.repo.insertCustom(tx, { poolId: pool.id, projectId, name: post.name, description: post.description, config, createdAt: new Date().toISOString() }),
        );
      });
    const undo = async (id: number) => {
      await this.agent.deleteVolume({ volume }).catch(() => undefined);
      await this.repo.delete(id);
    };
    const url = this.url(poolName, project, post.name);

    if (fill) {
      const id = await reserve();
      return this.operations.start({
        class: 'task',
        description: 'Restoring custom volume backup',
        project,
        resources: { storage_volumes: [url] },
        run: async () => {
          try {
            await fill(id, volume);
            if (size > 0) await this.agent.setQuota({ volume, size });
          } catch (err) {
            await undo(id);
            throw err;
          }
          this.events.lifecycle('storage-volume-created', url, project, identity);
        },
      });
    }
    if (!from) {
      const id = await reserve();
      try {
        await this.agent.createVolume({ volume });
        if (size > 0) await this.agent.setQuota({ volume, size });
      } catch (err) {
        await undo(id);
        throw err;
      }
      this.events.lifecycle('storage-volume-created', url, project, identity);
      return null;
    }
    const id = await reserve();
    return this.operations.start({
      class: 'task',
      description: 'Copying storage volume',
      project,
      resources: { storage_volumes: [url] },
      run: async () => {
        try {
          await this.agent.copyVolume({ volume, source: from.volume, ...(snapshots.length ? { snapshots: snapshots.map((s) => s.name) } : {}) });
          if (size > 0) await this.agent.setQuota({ volume, size });
          await this.repo.transaction(async (tx) => {
            for (const s of snapshots) await this.repo.insertSnapshot(tx, id, { ...s });
          });
        } catch (err) {
          await undo(id);
          throw err;
        }
        this.events.lifecycle('storage-volume-created', url, project, identity);
      },
    });
  }

  /** PUT (`replace`) / PATCH (`merge`): config and description; `restore` brings a snapshot back instead. */
  async update(poolName: string, project: string, name: string, put: StorageVolumePutRequest, mode: 'replace' | 'merge', hasDescription: boolean, identity: Identity): Promise<void> {
    if (put.restore) {
      await this.restore(poolName, project, name, put.restore, identity);
      return;
    }
    await this.serialized(async () => {
      const v = await this.load(poolName, project, name);
      const next = mode === 'replace' ? { ...put.config } : { ...v.row.config, ...put.config };
      // volatile.* keys are the daemon's record: kept, never changed.
      for (const [k, val] of Object.entries(v.row.config)) if (k.startsWith('volatile.') && !(k in next)) next[k] = val;
      for (const [k, val] of Object.entries(next)) {
        if (k.startsWith('volatile.') && val !== v.row.config[k]) throw badRequest(`Volatile config key "${k}" cannot be changed`);
      }
      validateVolumeConfig(next);
      const size = sizeOf(next);
      if (size !== sizeOf(v.row.config)) await this.agent.setQuota({ volume: v.volume, size });
      const description = mode === 'replace' || hasDescription ? put.description : v.row.description;
      await this.repo.transaction((tx) => this.repo.updateCustom(tx, v.row.id, { description, config: next }));
    });
    this.events.lifecycle('storage-volume-updated', this.url(poolName, project, name), project, identity);
  }

  /** POST …/custom/<name>: rename in the pool, or move to another pool (`pool`). Refused while in use. */
  async rename(poolName: string, project: string, name: string, post: StorageVolumePost, identity: Identity): Promise<Operation | null> {
    const target = post.pool || poolName;
    const newName = post.name || name;
    validateVolumeName(newName);
    const v = await this.load(poolName, project, name);
    if ((await this.repo.customVolumeUsers(poolName, name, project)).length > 0) throw badRequest('Volume is still in use');
    if (target === poolName) {
      if (newName === name) return null;
      await this.serialized(async () => {
        if ((await this.repo.list({ poolId: v.pool.id, project, type: CUSTOM_VOLUME, name: newName })).length > 0) throw conflict('Volume by that name already exists');
        await this.agent.renameVolume({ volume: v.volume, newName: customVolumeStorageName(project, newName) });
        await this.repo.rename(v.row.id, newName);
      });
      this.events.lifecycle('storage-volume-renamed', this.url(poolName, project, newName), project, identity, { old_name: name });
      return null;
    }
    // Another pool: a copy with the snapshots, then the original goes.
    const op = await this.create(target, project, { name: newName, type: 'custom', content_type: 'filesystem', config: v.row.config, description: v.row.description, source: { type: 'copy', pool: poolName, name } }, identity);
    if (!op) throw new Error('a copy is always an operation');
    return this.operations.start({
      class: 'task',
      description: 'Moving storage volume',
      project,
      resources: { storage_volumes: [this.url(poolName, project, name)] },
      run: async () => {
        const copied = await this.operations.wait(op.id, -1);
        if (copied.status !== 'Success') throw new Error(copied.err || 'The copy failed');
        await this.destroy(v);
        this.events.lifecycle('storage-volume-deleted', this.url(poolName, project, name), project, identity);
      },
    });
  }

  async delete(poolName: string, project: string, name: string, identity: Identity): Promise<void> {
    await this.serialized(async () => {
      const v = await this.load(poolName, project, name);
      if ((await this.repo.customVolumeUsers(poolName, name, project)).length > 0) throw badRequest('The storage volume is still in use');
      await this.destroy(v);
    });
    this.events.lifecycle('storage-volume-deleted', this.url(poolName, project, name), project, identity);
  }

  private async destroy(v: Loaded): Promise<void> {
    // The row first: once it is gone the volume is gone, whatever happens to its files then.
    await this.repo.delete(v.row.id);
    await this.agent.deleteVolume({ volume: v.volume });
  }

  /** GET …/custom/<name>/state: the space its files take. */
  async state(poolName: string, project: string, name: string): Promise<{ usage: { used: number } }> {
    const v = await this.load(poolName, project, name);
    return { usage: { used: (await this.agent.volumeUsage(v.volume)).used } };
  }

  // ---- snapshots ------------------------------------------------------------------------------------------------

  snapshotUrl(pool: string, project: string, name: string, snapshot: string): string {
    return apiUrl(['storage-pools', pool, 'volumes', 'custom', name, 'snapshots', snapshot], project);
  }

  async snapshots(poolName: string, project: string, name: string): Promise<StorageVolumeSnapshot[]> {
    return this.snapshotsOf(await this.load(poolName, project, name));
  }

  async snapshotsOf(v: Loaded): Promise<StorageVolumeSnapshot[]> {
    return (await this.repo.snapshots(v.row.id)).map((s) => renderSnapshot(s));
  }

  async snapshot(poolName: string, project: string, name: string, snapshot: string): Promise<StorageVolumeSnapshot> {
    const { snap } = await this.loadSnapshot(poolName, project, name, snapshot);
    return renderSnapshot(snap);
  }

  async createSnapshot(poolName: string, project: string, name: string, post: StorageVolumeSnapshotsPost, identity: Identity): Promise<Operation> {
    const v = await this.load(poolName, project, name);
    const existing = await this.repo.snapshots(v.row.id);
    const snapName = post.name === '' ? nextSnapshotName(v.row.config['snapshots.pattern'] ?? DEFAULT_PATTERN, existing.map((s) => s.name)) : post.name;
    validateSnapshotName(snapName);
    if (existing.some((s) => s.name === snapName)) throw conflict(`Snapshot "${snapName}" already exists`);
    const given = parseSnapshotExpiry(post.expires_at ?? undefined);
    const url = this.snapshotUrl(poolName, project, name, snapName);
    return this.operations.start({
      class: 'task',
      description: 'Creating storage volume snapshot',
      project,
      resources: { storage_volumes: [this.url(poolName, project, name)], storage_volume_snapshots: [url] },
      run: async () => {
        await this.agent.snapshot('create', { volume: v.volume, snapshot: snapName });
        try {
          await this.repo.transaction((tx) =>
            this.repo.insertSnapshot(tx, v.row.id, {
              name: snapName,
              description: v.row.description,
              creation_date: new Date().toISOString(),
              expiry_date: given ?? null,
              config: v.row.config,
            }),
          );
        } catch (err) {
          await this.agent.snapshot('delete', { volume: v.volume, snapshot: snapName }).catch(() => undefined);
          throw err;
        }
        this.events.lifecycle('storage-volume-snapshot-created', url, project, identity);
      },
    });
  }

  async deleteSnapshot(poolName: string, project: string, name: string, snapshot: string, identity: Identity): Promise<Operation> {
    const { v, snap } = await this.loadSnapshot(poolName, project, name, snapshot);
    const url = this.snapshotUrl(poolName, project, name, snapshot);
    return this.operations.start({
      class: 'task',
      description: 'Deleting storage volume snapshot',
      project,
      resources: { storage_volume_snapshots: [url] },
      run: async () => {
        await this.repo.deleteSnapshot(snap.id);
        await this.agent.snapshot('delete', { volume: v.volume, snapshot });
        this.events.lifecycle('storage-volume-snapshot-deleted', url, project, identity);
      },
    });
  }

  async renameSnapshot(poolName: string, project: string, name: string, snapshot: string, newName: string, identity: Identity): Promise<Operation> {
    validateSnapshotName(newName);
    const { v, snap } = await this.loadSnapshot(poolName, project, name, snapshot);
    if ((await this.repo.snapshots(v.row.id)).some((s) => s.name === newName)) throw conflict(`Snapshot "${newName}" already exists`);
    return this.operations.start({
      class: 'task',
      description: 'Renaming storage volume snapshot',
      project,
      resources: { storage_volume_snapshots: [this.snapshotUrl(poolName, project, name, snapshot)] },
      run: async () => {
        await this.agent.renameSnapshot({ volume: v.volume, snapshot, newName });
        await this.repo.renameSnapshot(snap.id, newName);
        this.events.lifecycle('storage-volume-snapshot-renamed', this.snapshotUrl(poolName, project, name, newName), project, identity, { old_name: snapshot });
      },
    });
  }

  /** The snapshot's files replace the volume's; refused while a running instance uses the volume. */
  private async restore(poolName: string, project: string, name: string, snapshot: string, identity: Identity): Promise<void> {
    const { v } = await this.loadSnapshot(poolName, project, name, snapshot);
    for (const user of await this.repo.customVolumeUsers(poolName, name, project)) {
      if (user.kind !== 'instance') continue;
      const status = (await this.agent.instance(lxcNameOf(user.project, user.name))).status;
      if (status !== 'Stopped') throw badRequest(`Cannot restore a volume used by running instance "${user.name}"`);
    }
    await this.serialized(async () => {
      await this.agent.snapshot('restore', { volume: v.volume, snapshot });
      // The restored volume is a new subvolume on btrfs: its size limit is set again.
      const size = sizeOf(v.row.config);
      if (size > 0) await this.agent.setQuota({ volume: v.volume, size });
    });
    this.events.lifecycle('storage-volume-restored', this.url(poolName, project, name), project, identity, { snapshot });
  }

  // ---- loading --------------------------------------------------------------------------------------------------

  async poolOf(name: string): Promise<{ id: number; name: string; ref: AgentPoolRef; config: Record<string, string> }> {
    const row = await this.pools.get(name);
    if (!row) throw notFound('Storage pool not found');
    const ref = await this.pools.agentRef(name);
    if (!ref) throw badRequest(`Storage pool "${name}" has no source on this member`);
    const config = Object.fromEntries((await this.pools.config(row.id)).map((e) => [e.key, e.value]));
    return { id: row.id, name, ref, config };
  }

  async load(poolName: string, project: string, name: string): Promise<Loaded> {
    const pool = await this.poolOf(poolName);
    const [row] = await this.repo.list({ poolId: pool.id, project, type: CUSTOM_VOLUME, name });
    if (!row) throw notFound('Storage volume not found');
    return { pool, ref: pool.ref, row, volume: { ...pool.ref, type: 'custom', name: customVolumeStorageName(project, name) } };
  }

  private async loadSnapshot(poolName: string, project: string, name: string, snapshot: string): Promise<{ v: Loaded; snap: VolumeSnapshotRow }> {
    const v = await this.load(poolName, project, name);
    const snap = (await this.repo.snapshots(v.row.id)).find((s) => s.name === snapshot);
    if (!snap) throw notFound('Storage volume snapshot not found');
    return { v, snap };
  }

  private serialized<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }
}

function validateVolumeName(name: string): void {
  if (name.includes('/')) throw badRequest('Storage volume names may not contain slashes');
  validateEntityName('storage volume', name, 255);
  if (!/^[A-Za-z0-9][A-Za-z0-9_.+-]*$/.test(name)) throw badRequest(`Invalid storage volume name "${name}": letters, digits, "-", "_", "." and "+" only`);
}

/** `volume.size` → `size` etc.: the pool's defaults for new volumes. */
function volumeDefaults(poolConfig: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(poolConfig)) if (k.startsWith('volume.') && v !== '') out[k.slice('volume.'.length)] = v;
  return out;
}

function sizeOf(config: Record<string, string>): number {
  const size = config['size'] ?? '';
  if (size === '') return 0;
  try {
    return parseByteSize(size);
  } catch (err) {
    throw badRequest(`Invalid value for option "size": ${(err as Error).message}`);
  }
}

function renderSnapshot(s: VolumeSnapshotRow): StorageVolumeSnapshot {
  return {
    name: s.name,
    config: s.config,
    description: s.description,
    content_type: 'filesystem',
    created_at: s.creation_date,
    expires_at: s.expiry_date ?? '0001-01-01T00:00:00Z',
  };
}
