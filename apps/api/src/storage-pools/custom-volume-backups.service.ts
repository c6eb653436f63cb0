// Custom volume backups (`lxc storage volume export/import`, extension custom_volume_backup): LXD's tarball layout
// for volumes — backup/index.yaml (type: custom, the volume and its snapshots as the API shows them),
// backup/volume-snapshots/<name>/ and backup/volume/ — written by the agent's storage driver into
// `$LXD_DIR/backups/custom/<pool>/<project>_<volume>/<backup>`; rows in storage_volumes_backups. Import is
// POST /1.0/storage-pools/<pool>/volumes/custom with the tarball as the body (X-LXD-name renames).
import { createReadStream, existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { Inject, Injectable } from '@nestjs/common';
import type { AgentVolumeRef, Operation } from '@lxdts/api-types';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import type { AgentClient } from '../agent/agent.client.js';
import type { Identity } from '../auth/identity.js';
import { backupCompression, headerValue, readBackupHead, stageUpload, stringValues } from '../backups/backup-files.js';
import type { DaemonPaths } from '../daemon/paths.js';
import { AGENT_CLIENT, DAEMON_PATHS } from '../daemon/tokens.js';
import { EventsService } from '../events/events.service.js';
import { badRequest, conflict, notFound } from '../http/api-error.js';
import { nextSnapshotName, validateSnapshotName } from '../instances/snapshot-names.js';
import { OperationsService } from '../operations/operations.service.js';
import { ServerConfigService } from '../server/server-config.service.js';
import { CustomVolumesService, type Loaded, customVolumeStorageName } from './custom-volumes.service.js';
import { validateVolumeConfig } from './storage-pool-config.js';
import { StorageVolumesRepository, type VolumeBackupRow } from './storage-volumes.repository.js';

const ZERO_TIME = '0001-01-01T00:00:00Z';

export interface VolumeBackupsPost {
  name: string;
  expires_at: string;
  volume_only: boolean;
  optimized_storage: boolean;
  compression_algorithm: string;
}

/** GET …/backups/<name> as LXD shows a volume backup. */
export interface StoragePoolVolumeBackup {
  name: string;
  created_at: string;
  expires_at: string;
  volume_only: boolean;
  optimized_storage: boolean;
}

type BackupAgent = Pick<AgentClient, 'exportBackup' | 'importBackup' | 'deleteVolume'>;

@Injectable()
export class CustomVolumeBackupsService {
  constructor(
    private readonly volumes: CustomVolumesService,
    private readonly repo: StorageVolumesRepository,
    private readonly operations: OperationsService,
    private readonly events: EventsService,
    private readonly serverConfig: ServerConfigService,
    @Inject(AGENT_CLIENT) private readonly agent: BackupAgent,
    @Inject(DAEMON_PATHS) private readonly paths: DaemonPaths,
  ) {}

  url(pool: string, project: string, name: string, backup: string): string {
    return `${this.volumes.url(pool, project, name)}/backups/${encodeURIComponent(backup)}`;
  }

  private dir(pool: string, project: string, name: string): string {
    return join(this.paths.varDir, 'backups', 'custom', pool, customVolumeStorageName(project, name));
  }

  async list(pool: string, project: string, name: string, recursion: number): Promise<string[] | StoragePoolVolumeBackup[]> {
    const v = await this.volumes.load(pool, project, name);
    const rows = await this.repo.backups(v.row.id);
    return recursion === 0 ? rows.map((b) => this.url(pool, project, name, b.name)) : rows.map(toApi);
  }

  async get(pool: string, project: string, name: string, backup: string): Promise<StoragePoolVolumeBackup> {
    return toApi((await this.find(pool, project, name, backup)).backup);
  }

  async create(pool: string, project: string, name: string, post: VolumeBackupsPost, identity: Identity): Promise<Operation> {
    const v = await this.volumes.load(pool, project, name);
    if (post.optimized_storage) throw badRequest('Optimized backups of custom volumes are not supported yet');
    const compression = backupCompression(post.compression_algorithm, undefined, await this.serverConfig.get('backups.compression_algorithm'));
    const existing = await this.repo.backups(v.row.id);
    const backupName = post.name === '' ? nextSnapshotName('backup%d', existing.map((b) => b.name)) : post.name;
    validateSnapshotName(backupName);
    if (existing.some((b) => b.name === backupName)) throw conflict(`Backup "${backupName}" already exists`);
    const expiresAt = post.expires_at && !post.expires_at.startsWith('0001-01-01') ? new Date(Date.parse(post.expires_at)) : null;
    if (expiresAt && Number.isNaN(expiresAt.getTime())) throw badRequest(`Invalid expiry date "${post.expires_at}"`);
    return this.operations.start({
      class: 'task',
      description: 'Backing up storage volume',
      project,
      resources: { storage_volumes: [this.volumes.url(pool, project, name)], backups: [`/1.0/backups/${backupName}`] },
      run: async () => {
        const snapshots = post.volume_only ? [] : await this.repo.snapshots(v.row.id);
        const index = await this.indexOf(v, pool, project, snapshots.map((s) => s.name));
        const file = join(this.dir(pool, project, name), backupName);
        mkdirSync(this.dir(pool, project, name), { recursive: true, mode: 0o700 });
        await this.agent.exportBackup({ volume: v.volume, snapshots: snapshots.map((s) => s.name), indexYaml: stringifyYaml(index), backupYaml: '', targetFile: file, compression });
        try {
          await this.repo.insertBackup(v.row.id, {
            name: backupName,
            creation_date: new Date().toISOString(),
            expiry_date: expiresAt ? expiresAt.toISOString() : null,
            volume_only: post.volume_only ? 1 : 0,
            optimized_storage: 0,
          });
        } catch (err) {
          rmSync(file, { force: true });
          throw err;
        }
        this.events.lifecycle('storage-volume-backup-created', this.url(pool, project, name, backupName), project, identity, null);
      },
    });
  }

  async rename(pool: string, project: string, name: string, backup: string, newName: string, identity: Identity): Promise<Operation> {
    const { v, backup: b } = await this.find(pool, project, name, backup);
    validateSnapshotName(newName);
    if ((await this.repo.backups(v.row.id)).some((x) => x.name === newName)) throw conflict(`Backup "${newName}" already exists`);
    return this.operations.start({
      class: 'task',
      description: 'Renaming storage volume backup',
      project,
      resources: { storage_volumes: [this.volumes.url(pool, project, name)] },
      run: async () => {
        const dir = this.dir(pool, project, name);
        if (existsSync(join(dir, b.name))) renameSync(join(dir, b.name), join(dir, newName));
        await this.repo.renameBackup(b.id, newName);
        this.events.lifecycle('storage-volume-backup-renamed', this.url(pool, project, name, newName), project, identity, { old_name: backup });
      },
    });
  }

  async delete(pool: string, project: string, name: string, backup: string, identity: Identity): Promise<Operation> {
    const { backup: b } = await this.find(pool, project, name, backup);
    return this.operations.start({
      class: 'task',
      description: 'Removing storage volume backup',
      project,
      resources: { storage_volumes: [this.volumes.url(pool, project, name)] },
      run: async () => {
        rmSync(join(this.dir(pool, project, name), b.name), { force: true });
        await this.repo.deleteBackup(b.id);
        this.events.lifecycle('storage-volume-backup-deleted', this.url(pool, project, name, backup), project, identity, null);
      },
    });
  }

  /** GET …/export: the tarball as a stream. */
  async open(pool: string, project: string, name: string, backup: string): Promise<{ body: Readable; size: number }> {
    await this.find(pool, project, name, backup);
    const file = join(this.dir(pool, project, name), backup);
    if (!existsSync(file)) throw notFound('Backup file not found');
    return { body: createReadStream(file), size: statSync(file).size };
  }

  /** `lxc storage volume import`: the volume and its snapshots as the tarball holds them, or nothing. */
  async import(pool: string, project: string, body: Readable, headers: Record<string, string | string[] | undefined>, identity: Identity): Promise<Operation> {
    const header = (k: string) => headerValue(headers, k);
    const staging = await stageUpload(body, join(this.paths.varDir, 'backups'));
    let plan: VolumePlan;
    try {
      plan = parseVolumeIndex((await readBackupHead(staging)).index);
      plan.name = header('x-lxd-name') || plan.name;
      validateVolumeConfig(plan.config);
    } catch (err) {
      rmSync(staging, { force: true });
      throw err;
    }
    let op: Operation | null;
    try {
      op = await this.volumes.create(pool, project, { name: plan.name, type: 'custom', content_type: 'filesystem', config: plan.config, description: plan.description, source: { type: 'restore', pool, name: '' } }, identity, async (volumeId: number, volume: AgentVolumeRef) => {
        await this.agent.importBackup({ volume, snapshots: plan.snapshots.map((s) => s.name), file: staging });
        await this.repo.transaction(async (tx) => {
          for (const s of plan.snapshots) await this.repo.insertSnapshot(tx, volumeId, s);
        });
      });
    } catch (err) {
      rmSync(staging, { force: true });
      throw err;
    }
    if (!op) throw new Error('an import is always an operation');
    void this.operations
      .wait(op.id, -1)
      .finally(() => rmSync(staging, { force: true }))
      .catch(() => undefined);
    return op;
  }

  private async find(pool: string, project: string, name: string, backup: string): Promise<{ v: Loaded; backup: VolumeBackupRow }> {
    const v = await this.volumes.load(pool, project, name);
    const b = (await this.repo.backups(v.row.id)).find((x) => x.name === backup);
    if (!b) throw notFound('Storage volume backup not found');
    return { v, backup: b };
  }

  /** LXD's index.yaml for a custom volume: the volume and its snapshots as the API shows them. */
  private async indexOf(v: Loaded, pool: string, project: string, snapshots: string[]) {
    const volume = (await this.volumes.snapshotsOf(v)).filter((s) => snapshots.includes(s.name));
    return {
      name: v.row.name,
      backend: v.ref.driver ?? 'dir',
      pool,
      ...(snapshots.length ? { snapshots } : {}),
      optimized: false,
      optimized_header: false,
      type: 'custom',
      config: {
        volume: {
          config: v.row.config,
          description: v.row.description,
          name: v.row.name,
          type: 'custom',
          used_by: [],
          location: 'none',
          content_type: 'filesystem',
          project,
          created_at: v.row.creation_date,
        },
        volume_snapshots: volume,
      },
    };
  }
}

interface VolumePlan {
  name: string;
  description: string;
  config: Record<string, string>;
  snapshots: { name: string; description: string; creation_date: string; expiry_date: string | null; config: Record<string, string> }[];
}


export function parseVolumeIndex(text: string): VolumePlan {
  let doc: Record<string, unknown>;
  try {
    doc = (parseYaml(text) ?? {}) as Record<string, unknown>;
  } catch (err) {
    throw badRequest(`Invalid backup index: ${(err as Error).message}`);
  }
  if (doc['type'] !== 'custom') throw badRequest(`Invalid backup: a "${String(doc['type'] ?? 'container')}" backup is no custom volume`);
  if (doc['optimized'] === true) throw badRequest('Optimized backups of custom volumes are not supported yet');
  const config = (doc['config'] ?? {}) as Record<string, unknown>;
  const volume = (config['volume'] ?? {}) as Record<string, unknown>;
  if (typeof doc['name'] !== 'string') throw badRequest('Invalid backup index: no volume name');
  const names = Array.isArray(doc['snapshots']) ? (doc['snapshots'] as unknown[]).map(String) : [];
  const snaps = Array.isArray(config['volume_snapshots']) ? (config['volume_snapshots'] as Record<string, unknown>[]) : [];
  return {
    name: doc['name'],
    description: String(volume['description'] ?? ''),
    config: stringValues(volume['config']),
    snapshots: names.map((name) => {
      const s = snaps.find((x) => x['name'] === name) ?? {};
      const expires = String(s['expires_at'] ?? '');
      const created = String(s['created_at'] ?? '');
      return {
        name,
        description: String(s['description'] ?? ''),
        creation_date: created && !created.startsWith('0001-01-01') ? created : new Date().toISOString(),
        expiry_date: expires && !expires.startsWith('0001-01-01') ? expires : null,
        config: stringValues(s['config']),
      };
    }),
  };
}

function toApi(b: VolumeBackupRow): StoragePoolVolumeBackup {
  return {
    name: b.name,
    created_at: b.creation_date,
    expires_at: b.expiry_date ?? ZERO_TIME,
    volume_only: b.volume_only === 1,
    optimized_storage: b.optimized_storage === 1,
  };
}

