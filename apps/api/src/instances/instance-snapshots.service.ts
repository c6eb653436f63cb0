// Instance snapshots (LXD 5.0.2 lxd/instance_snapshot.go): create, list, show, rename, delete, expiry, and restore
// (PUT /1.0/instances/{name} with `restore`). Stateless only: a stateful snapshot needs CRIU, which cannot run on
// this kernel. On a dir pool a snapshot is a full copy of the container's volume (the agent's storage driver).
import { Inject, Injectable } from '@nestjs/common';
import type { InstanceSnapshot, InstanceSnapshotsPost, Operation } from '@lxdts/api-types';
import type { AgentClient } from '../agent/agent.client.js';
import type { Identity } from '../auth/identity.js';
import { AGENT_CLIENT } from '../daemon/tokens.js';
import { EventsService } from '../events/events.service.js';
import { badRequest, conflict, forbidden, notFound } from '../http/api-error.js';
import { OperationsService } from '../operations/operations.service.js';
import { isTrue } from '../projects/config-validators.js';
import { ProjectsService } from '../projects/projects.service.js';
import { copiesFiles, lxcNameOf } from './instance-expansion.js';
import { DEFAULT_PATTERN, nextSnapshotName, parseSnapshotExpiry as expiry, validateSnapshotName } from './snapshot-names.js';
import { InstancePowerService } from './instance-power.service.js';
import { InstanceSnapshotsRepository, type SnapshotRow } from './instance-snapshots.repository.js';
import type { InstanceRow } from './instances.repository.js';
import { InstancesService } from './instances.service.js';

export { nextSnapshotName, validateSnapshotName } from './snapshot-names.js';

@Injectable()
export class InstanceSnapshotsService {
  constructor(
    private readonly instances: InstancesService,
    private readonly power: InstancePowerService,
    private readonly repo: InstanceSnapshotsRepository,
    private readonly operations: OperationsService,
    private readonly events: EventsService,
    private readonly projects: ProjectsService,
    @Inject(AGENT_CLIENT) private readonly agent: AgentClient,
  ) {}

  url(project: string, name: string, snapshot: string): string {
    return `${this.instances.url(project, name)}/snapshots/${encodeURIComponent(snapshot)}`;
  }

  async list(project: string, name: string, recursion: number): Promise<string[] | InstanceSnapshot[]> {
    const row = await this.instances.find(project, name);
    const snaps = await this.repo.list(row.id);
    if (recursion === 0) return snaps.map((s) => this.url(row.project, row.name, s.name));
    return this.instances.renderSnapshots(row, snaps);
  }

  async get(project: string, name: string, snapshot: string): Promise<InstanceSnapshot> {
    const { row, snap } = await this.load(project, name, snapshot);
    return (await this.instances.renderSnapshots(row, [snap]))[0] as InstanceSnapshot;
  }

  async create(project: string, name: string, post: InstanceSnapshotsPost, identity: Identity | undefined): Promise<Operation> {
    const row = await this.instances.find(project, name);
    const projectConfig = (await this.projects.row(row.project)).config;
    if (isTrue(projectConfig['restricted']) && projectConfig['restricted.snapshots'] === 'block') {
      throw forbidden(`Project "${row.project}" doesn't allow for snapshots`);
    }
    if (post.stateful) throw badRequest('Stateful snapshots need CRIU, which cannot run on this host');
    const existing = await this.repo.list(row.id);
    const snapName = post.name === '' ? nextSnapshotName((await this.instances.expanded(row)).config['snapshots.pattern'] ?? DEFAULT_PATTERN, existing.map((s) => s.name)) : post.name;
    validateSnapshotName(snapName);
    if (existing.some((s) => s.name === snapName)) throw conflict(`Snapshot "${snapName}" already exists`);
    // Absent: the instance's snapshots.expiry applies; the zero time (--no-expiry): none.
    const given = expiry(post.expires_at);
    const expiresAt = given === undefined ? this.defaultExpiry((await this.instances.expanded(row)).config['snapshots.expiry']) : given;
    const volume = await this.volumeOf(row);
    return this.operations.start({
      class: 'task',
      description: 'Snapshotting instance',
      project,
      resources: { ...this.instances.resources({ project: row.project, name: row.name }), instances_snapshots: [this.url(row.project, row.name, snapName)] },
      run: async () => {
        // The copy first, then the row; a row that can't be written takes the copy back. A running container is
        // frozen while its files are copied (dir), so the snapshot is one moment of it; a btrfs snapshot is atomic.
        const lxcName = lxcNameOf(row.project, row.name);
        const frozen =
          copiesFiles(volume) && (await this.instances.statusOf(lxcName)).status === 'Running' && (await this.agent.freeze(lxcName).then(() => true));
        try {
          await this.agent.snapshot('create', { volume, snapshot: snapName });
        } finally {
          if (frozen) await this.agent.unfreeze(lxcName).catch(() => undefined);
        }
        try {
          await this.repo.transaction((tx) =>
            this.repo.insert(tx, { instanceId: row.id, name: snapName, createdAt: new Date().toISOString(), expiresAt, config: row.config, devices: row.devices }),
          );
        } catch (err) {
          await this.agent.snapshot('delete', { volume, snapshot: snapName }).catch(() => undefined);
          if (/UNIQUE/i.test((err as Error).message)) throw conflict(`Snapshot "${snapName}" already exists`);
          throw err;
        }
        this.events.lifecycle('instance-snapshot-created', this.url(row.project, row.name, snapName), row.project, identity, null);
      },
    });
  }

  async delete(project: string, name: string, snapshot: string, identity: Identity | undefined): Promise<Operation> {
    const { row, snap } = await this.load(project, name, snapshot);
    const volume = await this.volumeOf(row);
    return this.operations.start({
      class: 'task',
      description: 'Deleting snapshot',
      project,
      resources: { ...this.instances.resources({ project: row.project, name: row.name }), instances_snapshots: [this.url(row.project, row.name, snap.name)] },
      run: async () => {
        await this.agent.snapshot('delete', { volume, snapshot: snap.name });
        await this.repo.delete(snap.id);
        this.events.lifecycle('instance-snapshot-deleted', this.url(row.project, row.name, snap.name), row.project, identity, null);
      },
    });
  }

  async rename(project: string, name: string, snapshot: string, newName: string, identity: Identity): Promise<Operation> {
    const { row, snap } = await this.load(project, name, snapshot);
    validateSnapshotName(newName);
    if (await this.repo.find(row.id, newName)) throw conflict(`Name "${newName}" already in use`);
    const volume = await this.volumeOf(row);
    return this.operations.start({
      class: 'task',
      description: 'Renaming snapshot',
      project,
      resources: { ...this.instances.resources({ project: row.project, name: row.name }), instances_snapshots: [this.url(row.project, row.name, snap.name)] },
      run: async () => {
        await this.agent.renameSnapshot({ volume, snapshot: snap.name, newName });
        try {
          await this.repo.rename(snap.id, newName);
        } catch (err) {
          await this.agent.renameSnapshot({ volume, snapshot: newName, newName: snap.name }).catch(() => undefined);
          throw err;
        }
        this.events.lifecycle('instance-snapshot-renamed', this.url(row.project, row.name, newName), row.project, identity, {
          old_name: snap.name,
        });
      },
    });
  }

  /** PUT/PATCH of a snapshot: only `expires_at` is writable. */
  async setExpiry(project: string, name: string, snapshot: string, expiresAt: string | undefined, identity: Identity): Promise<void> {
    const { row, snap } = await this.load(project, name, snapshot);
    await this.repo.setExpiry(snap.id, expiry(expiresAt) ?? null);
    this.events.lifecycle('instance-snapshot-updated', this.url(row.project, row.name, snap.name), row.project, identity, null);
  }

  /** `lxc restore`: a running container is stopped, its volume and config put back, then started again. */
  async restore(project: string, name: string, snapshot: string, identity: Identity): Promise<Operation> {
    const { row, snap } = await this.load(project, name, snapshot);
    const volume = await this.volumeOf(row);
    return this.operations.start({
      class: 'task',
      description: 'Restoring snapshot',
      project,
      resources: this.instances.resources({ project: row.project, name: row.name }),
      run: async () => {
        const status = (await this.instances.statusOf(lxcNameOf(row.project, row.name))).status;
        const wasRunning = status === 'Running' || status === 'Frozen';
        // Stopped as for a restart: an ephemeral container is not deleted by it.
        if (wasRunning) await this.power.stop(row, true, 0, identity, true);
        await this.agent.snapshot('restore', { volume, snapshot: snap.name });
        // The snapshot's config and devices; the instance's own volatile state stays.
        const volatile = Object.fromEntries(Object.entries(row.config).filter(([k]) => k.startsWith('volatile.')));
        const config = { ...Object.fromEntries(Object.entries(snap.config).filter(([k]) => !k.startsWith('volatile.'))), ...volatile };
        const profileIds = await this.instances.profileIds(row);
        await this.repo.transaction((tx) =>
          this.instances.repo.update(tx, row.id, { config, devices: snap.devices, profileIds, description: row.description, ephemeral: row.ephemeral }),
        );
        // The restored volume is a new subvolume on btrfs: its size limit is set again.
        await this.instances.applyRootSize(volume, (await this.instances.expanded(await this.instances.find(row.project, row.name))).devices, true);
        if (wasRunning) await this.power.start(await this.instances.find(row.project, row.name), undefined);
        this.instances.lifecycle('instance-restored', row.project, row.name, identity, { snapshot: snap.name });
      },
    });
  }

  private async load(project: string, name: string, snapshot: string): Promise<{ row: InstanceRow; snap: SnapshotRow }> {
    const row = await this.instances.find(project, name);
    const snap = await this.repo.find(row.id, snapshot);
    if (!snap) throw notFound('Instance snapshot not found');
    return { row, snap };
  }

  private async volumeOf(row: InstanceRow) {
    const volume = await this.instances.rootVolume(row);
    if (!volume) throw badRequest('The instance has no root disk on a storage pool');
    return volume;
  }

  /** `snapshots.expiry` (e.g. `2d`, `1w 3H`): LXD's units S, M (minutes), H, d, w, m (months), y. */
  private defaultExpiry(spec: string | undefined): string | null {
    if (!spec) return null;
    const units: Record<string, number> = { S: 1_000, M: 60_000, H: 3_600_000, d: 86_400_000, w: 604_800_000, m: 2_592_000_000, y: 31_536_000_000 };
    let ms = 0;
    for (const part of spec.trim().split(/\s+/)) {
      const m = /^(\d+)([SMHdwmy])$/.exec(part);
      if (!m) throw badRequest(`Invalid snapshots.expiry "${spec}"`);
      ms += Number(m[1]) * (units[m[2] as string] as number);
    }
    return new Date(Date.now() + ms).toISOString();
  }
}
