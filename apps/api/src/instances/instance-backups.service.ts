// Instance backups (LXD 5.0.2 lxd/instance_backup.go, lxd/backup): `lxc export` creates one (POST), downloads it
// (GET …/export) and deletes it; `lxc import` posts the tarball to /1.0/instances. The tarball is LXD's layout:
// backup/index.yaml (the instance, its snapshots, pool, profiles and volume as the API shows them), then
// backup/snapshots/<name>/ and backup/container/ (with backup.yaml), made by the agent's storage driver. Files live
// in $LXD_DIR/backups/instances/<volume>/<backup> on the member holding the instance.
import { createReadStream, existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { Inject, Injectable } from '@nestjs/common';
import type { AgentVolumeRef, InstanceBackup, InstanceBackupsPost, Operation } from '@lxdts/api-types';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import type { AgentClient } from '../agent/agent.client.js';
import type { Identity } from '../auth/identity.js';
import type { DaemonPaths } from '../daemon/paths.js';
import { AGENT_CLIENT, DAEMON_PATHS } from '../daemon/tokens.js';
import { EventsService } from '../events/events.service.js';
import { badRequest, conflict, forbidden, notFound } from '../http/api-error.js';
import { backupCompression, headerValue, readBackupHead, stageUpload, stringValues } from '../backups/backup-files.js';
import { OperationsService } from '../operations/operations.service.js';
import { ProjectsService } from '../projects/projects.service.js';
import { ServerConfigService } from '../server/server-config.service.js';
import { InstanceBackupsRepository, type BackupRow } from './instance-backups.repository.js';
import { lxcNameOf, rootDisk } from './instance-expansion.js';
import { InstanceSnapshotsRepository } from './instance-snapshots.repository.js';
import { validateSnapshotName, nextSnapshotName } from './instance-snapshots.service.js';
import type { InstanceRow, ProfileData } from './instances.repository.js';
import { InstancesService } from './instances.service.js';

const ZERO_TIME = '0001-01-01T00:00:00Z';
export { backupCompression } from '../backups/backup-files.js';

@Injectable()
export class InstanceBackupsService {
  constructor(
    private readonly instances: InstancesService,
    private readonly repo: InstanceBackupsRepository,
    private readonly snapshots: InstanceSnapshotsRepository,
    private readonly operations: OperationsService,
    private readonly events: EventsService,
    private readonly projects: ProjectsService,
    private readonly serverConfig: ServerConfigService,
    @Inject(AGENT_CLIENT) private readonly agent: AgentClient,
    @Inject(DAEMON_PATHS) private readonly paths: DaemonPaths,
  ) {}

  url(project: string, name: string, backup: string): string {
    return `${this.instances.url(project, name)}/backups/${encodeURIComponent(backup)}`;
  }

  /** `$LXD_DIR/backups/instances/<volume>`: this instance's backup files. */
  dir(row: Pick<InstanceRow, 'project' | 'name'>): string {
    return join(this.paths.varDir, 'backups', 'instances', lxcNameOf(row.project, row.name));
  }

  async list(project: string, name: string, recursion: number): Promise<string[] | InstanceBackup[]> {
    const row = await this.instances.find(project, name);
    const backups = await this.repo.list(row.id);
    return recursion === 0 ? backups.map((b) => this.url(row.project, row.name, b.name)) : backups.map(toApi);
  }

  async get(project: string, name: string, backup: string): Promise<InstanceBackup> {
    return toApi((await this.load(project, name, backup)).backup);
  }

  async create(project: string, name: string, post: InstanceBackupsPost, identity: Identity): Promise<Operation> {
    const row = await this.instances.find(project, name);
    const projectConfig = (await this.projects.row(row.project)).config;
    if (projectConfig['restricted'] === 'true' && projectConfig['restricted.backups'] === 'block') {
      throw forbidden(`Project "${row.project}" doesn't allow for backups`);
    }
    const driver = (await this.instances.rootPool(row))?.driver ?? 'dir';
    const optimized = post.optimized_storage === true;
    if (optimized && driver !== 'btrfs') throw badRequest(`Optimized backups are not supported by the ${driver} storage driver`);
    const compression = backupCompression(post.compression_algorithm, projectConfig['backups.compression_algorithm'], await this.serverConfig.get('backups.compression_algorithm'));
    const existing = await this.repo.list(row.id);
    const backupName = post.name === '' ? nextSnapshotName('backup%d', existing.map((b) => b.name)) : post.name;
    validateSnapshotName(backupName);
    if (existing.some((b) => b.name === backupName)) throw conflict(`Backup "${backupName}" already exists`);
    const instanceOnly = post.instance_only || post.container_only;
    const expiresAt = post.expires_at && !post.expires_at.startsWith('0001-01-01') ? new Date(Date.parse(post.expires_at)).toISOString() : null;
    if (post.expires_at && expiresAt === null && !post.expires_at.startsWith('0001-01-01')) throw badRequest(`Invalid expiry date "${post.expires_at}"`);
    return this.operations.start({
      class: 'task',
      description: 'Backing up instance',
      project,
      // As LXD: the client takes the backup's name from `/1.0/backups/<name>`.
      resources: { ...this.instances.resources({ project: row.project, name: row.name }), backups: [`/1.0/backups/${backupName}`] },
      run: async () => {
        const snaps = instanceOnly ? [] : await this.snapshots.list(row.id);
        const info = await this.backupInfo(row, snaps.map((s) => s.name), optimized);
        const file = join(this.dir(row), backupName);
        mkdirSync(this.dir(row), { recursive: true, mode: 0o700 });
        // Stored as LXD stores an unprivileged container's files: shifted by its id map (so LXD can import it).
        const shift = row.config['security.privileged'] === 'true' ? undefined : rootIdmap(row.config);
        await this.agent.exportBackup({
          volume: await this.volumeOf(row),
          snapshots: snaps.map((s) => s.name),
          indexYaml: stringifyYaml(info),
          backupYaml: stringifyYaml(info.config),
          targetFile: file,
          compression,
          ...(shift ? { shift } : {}),
          ...(optimized ? { optimized } : {}),
        });
        try {
          await this.repo.insert({ instanceId: row.id, name: backupName, createdAt: new Date().toISOString(), expiresAt, instanceOnly, optimizedStorage: optimized });
        } catch (err) {
          rmSync(file, { force: true });
          throw err;
        }
        this.events.lifecycle('instance-backup-created', this.url(row.project, row.name, backupName), row.project, identity, null);
      },
    });
  }

  async rename(project: string, name: string, backup: string, newName: string, identity: Identity): Promise<Operation> {
    const { row, backup: b } = await this.load(project, name, backup);
    validateSnapshotName(newName);
    if (await this.repo.find(row.id, newName)) throw conflict(`Backup "${newName}" already exists`);
    return this.operations.start({
      class: 'task',
      description: 'Renaming instance backup',
      project,
      resources: { ...this.instances.resources({ project: row.project, name: row.name }), backups: [this.url(row.project, row.name, b.name)] },
      run: async () => {
        const from = join(this.dir(row), b.name);
        if (existsSync(from)) renameSync(from, join(this.dir(row), newName));
        await this.repo.rename(b.id, newName);
        this.events.lifecycle('instance-backup-renamed', this.url(row.project, row.name, newName), row.project, identity, { old_name: b.name });
      },
    });
  }

  async delete(project: string, name: string, backup: string, identity: Identity | undefined): Promise<Operation> {
    const { row, backup: b } = await this.load(project, name, backup);
    return this.operations.start({
      class: 'task',
      description: 'Removing instance backup',
      project,
      // (sic: LXD 5.0.2's resources for this operation.)
      resources: { container: [`/1.0/container/${row.name}`] },
      run: async () => {
        rmSync(join(this.dir(row), b.name), { force: true });
        await this.repo.delete(b.id);
        this.events.lifecycle('instance-backup-deleted', this.url(row.project, row.name, b.name), row.project, identity, null);
      },
    });
  }

  /**
   * `lxc import`: POST /1.0/instances with the tarball as the body (X-LXD-pool, X-LXD-name override the pool and the
   * name). The body is staged, index.yaml read from it; the instance, its volume and snapshots are made as they were
   * (stopped), and taken back if any step fails.
   */
  async import(project: string, body: Readable, headers: Record<string, string | string[] | undefined>, identity: Identity): Promise<Operation> {
    const header = (k: string) => headerValue(headers, k);
    const staging = await stageUpload(body, join(this.paths.varDir, 'backups'));
    let plan: ImportPlan;
    try {
      const head = await readBackupHead(staging);
      plan = parseIndex(head.index);
      // Send streams show no owner: the config's idmap keys say how LXD stored them (`[]`: unshifted).
      const unshift = plan.optimized ? (plan.config['security.privileged'] === 'true' ? undefined : rootIdmap(plan.config)) : storedShift(plan.config, head.rootfsOwner);
      if (unshift) plan = { ...plan, unshift };
      const name = header('x-lxd-name') || plan.name;
      const pool = header('x-lxd-pool') || plan.pool;
      plan = { ...plan, name, pool, devices: withRootPool(plan.devices, pool) };
      await this.instances.checkImport(project, plan);
    } catch (err) {
      rmSync(staging, { force: true });
      throw err;
    }
    return this.operations.start({
      class: 'task',
      description: 'Restoring backup',
      project,
      resources: this.instances.resources({ project, name: plan.name }),
      run: async () => {
        try {
          await this.instances.createFromBackup(project, plan, async (row: InstanceRow, volume: AgentVolumeRef) => {
            await this.agent.importBackup({
              volume,
              snapshots: plan.snapshots.map((s) => s.name),
              file: staging,
              ...(plan.unshift ? { unshift: plan.unshift } : {}),
              ...(plan.optimized ? { optimized: true } : {}),
            });
            await this.snapshots.transaction(async (tx) => {
              for (const s of plan.snapshots) await this.snapshots.insert(tx, { instanceId: row.id, name: s.name, createdAt: s.createdAt, expiresAt: s.expiresAt, config: s.config, devices: s.devices });
            });
          }, identity);
        } finally {
          rmSync(staging, { force: true });
        }
      },
    });
  }

  /** GET …/export: the tarball as a stream. */
  async open(project: string, name: string, backup: string): Promise<{ body: Readable; size: number }> {
    const { row, backup: b } = await this.load(project, name, backup);
    const file = join(this.dir(row), b.name);
    if (!existsSync(file)) throw notFound('Backup file not found');
    return { body: createReadStream(file), size: statSync(file).size };
  }

  private async load(project: string, name: string, backup: string): Promise<{ row: InstanceRow; backup: BackupRow }> {
    const row = await this.instances.find(project, name);
    const b = await this.repo.find(row.id, backup);
    if (!b) throw notFound('Instance backup not found');
    return { row, backup: b };
  }

  private async volumeOf(row: InstanceRow) {
    const volume = await this.instances.rootVolume(row);
    if (!volume) throw badRequest('The instance has no root disk on a storage pool');
    return volume;
  }

  /** LXD's backup/index.yaml: name, backend, pool, snapshots, and the config LXD would need to recreate it all. */
  private async backupInfo(row: InstanceRow, snapshotNames: string[], optimized = false) {
    const inst = await this.instances.get(row.project, row.name, 1);
    const { snapshots, backups: _backups, state: _state, ...container } = inst as typeof inst & { snapshots?: unknown; backups?: unknown; state?: unknown };
    const { devices } = await this.instances.expanded(row);
    const poolName = rootDisk(devices)?.pool ?? '';
    const pool = await this.instances.rootPool(row);
    const driver = pool?.driver ?? 'dir';
    const source = pool?.poolSource ?? '';
    const profiles = await this.instances.profilesOf(row);
    const snapList = ((snapshots as { name: string; created_at: string; expires_at: string }[] | null) ?? []).filter((s) => snapshotNames.includes(s.name));
    const info = {
      name: row.name,
      backend: driver,
      pool: poolName,
      ...(snapshotNames.length ? { snapshots: snapshotNames } : {}),
      optimized,
      optimized_header: optimized,
      type: 'container',
      config: {
        container: container,
        snapshots: snapList,
        pool: { config: { source }, description: '', name: poolName, driver, used_by: [], status: 'Created', locations: ['none'] },
        profiles: profiles.map((p: ProfileData) => ({ config: p.config, description: '', devices: p.devices, name: p.name, used_by: [] })),
        volume: {
          config: {},
          description: '',
          name: row.name,
          type: 'container',
          used_by: [],
          location: 'none',
          content_type: 'filesystem',
          project: row.project,
          created_at: ZERO_TIME,
        },
        volume_snapshots: snapList.map((s) => ({ description: '', expires_at: s.expires_at, name: s.name, config: {}, content_type: 'filesystem', created_at: s.created_at })),
      },
    };
    return info;
  }
}

/** What an import recreates, from backup/index.yaml. */
export interface ImportPlan {
  name: string;
  pool: string;
  architecture: string;
  ephemeral: boolean;
  description: string;
  profiles: string[];
  config: Record<string, string>;
  devices: Record<string, Record<string, string>>;
  snapshots: { name: string; createdAt: string; expiresAt: string | null; config: Record<string, string>; devices: Record<string, Record<string, string>> }[];
  /** Set for an LXD-made tarball whose files are stored shifted by the container's id map. */
  unshift?: { uid: number; gid: number; range: number };
  /** btrfs send streams (LXD's optimized layout), not file trees. */
  optimized?: boolean;
}

/** The container root's host ids from LXD's idmap keys (`volatile.last_state.idmap`, else `volatile.idmap.current`). */
export function rootIdmap(config: Record<string, string>): { uid: number; gid: number; range: number } | undefined {
  let map: { Isuid?: boolean; Isgid?: boolean; Hostid?: number; Nsid?: number; Maprange?: number }[];
  try {
    map = JSON.parse(config['volatile.last_state.idmap'] || config['volatile.idmap.current'] || '[]') as typeof map;
  } catch {
    return undefined;
  }
  const u = map.find((m) => m.Isuid && m.Nsid === 0);
  const g = map.find((m) => m.Isgid && m.Nsid === 0);
  if (!u?.Hostid || !g?.Hostid) return undefined;
  return { uid: u.Hostid, gid: g.Hostid, range: Math.min(u.Maprange ?? 65536, g.Maprange ?? 65536) };
}

/** The shift an LXD-made tarball's files are stored with: its root map, when its rootfs is owned by that map's root. */
export function storedShift(config: Record<string, string>, rootfsOwner: { uid: number; gid: number } | null): { uid: number; gid: number; range: number } | undefined {
  if (!rootfsOwner || rootfsOwner.uid === 0) return undefined;
  const map = rootIdmap(config);
  return map && map.uid === rootfsOwner.uid ? map : undefined;
}

const devMap = (v: unknown): Record<string, Record<string, string>> =>
  v && typeof v === 'object' ? Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, stringValues(x)])) : {};

export function parseIndex(text: string): ImportPlan {
  let doc: Record<string, unknown>;
  try {
    doc = (parseYaml(text) ?? {}) as Record<string, unknown>;
  } catch (err) {
    throw badRequest(`Invalid backup index: ${(err as Error).message}`);
  }
  const config = (doc['config'] ?? {}) as Record<string, unknown>;
  const container = (config['container'] ?? null) as Record<string, unknown> | null;
  if (!container || typeof doc['name'] !== 'string') throw badRequest('Invalid backup index: no instance in backup/index.yaml');
  if ((doc['type'] ?? 'container') !== 'container') throw badRequest(`Importing "${String(doc['type'])}" backups is not supported`);
  const names = Array.isArray(doc['snapshots']) ? (doc['snapshots'] as unknown[]).map(String) : [];
  const snapConfigs = Array.isArray(config['snapshots']) ? (config['snapshots'] as Record<string, unknown>[]) : [];
  return {
    name: doc['name'],
    pool: typeof doc['pool'] === 'string' ? doc['pool'] : '',
    architecture: String(container['architecture'] ?? 'x86_64'),
    ephemeral: container['ephemeral'] === true,
    description: String(container['description'] ?? ''),
    profiles: Array.isArray(container['profiles']) ? (container['profiles'] as unknown[]).map(String) : ['default'],
    config: stringValues(container['config']),
    devices: devMap(container['devices']),
    ...(doc['optimized'] === true ? { optimized: true } : {}),
    snapshots: names.map((name) => {
      const s = snapConfigs.find((c) => c['name'] === name) ?? {};
      const expires = String(s['expires_at'] ?? '');
      return {
        name,
        createdAt: String(s['created_at'] ?? new Date().toISOString()),
        expiresAt: expires && !expires.startsWith('0001-01-01') ? expires : null,
        config: stringValues(s['config']),
        devices: devMap(s['devices']),
      };
    }),
  };
}

/** The instance's own root disk (if it has one) on `pool`. */
function withRootPool(devices: Record<string, Record<string, string>>, pool: string): Record<string, Record<string, string>> {
  const out = { ...devices };
  for (const [k, d] of Object.entries(out)) if (d['type'] === 'disk' && d['path'] === '/' && pool) out[k] = { ...d, pool };
  return out;
}

function toApi(b: BackupRow): InstanceBackup {
  return {
    name: b.name,
    created_at: b.createdAt,
    expires_at: b.expiresAt ?? ZERO_TIME,
    instance_only: b.instanceOnly,
    container_only: b.instanceOnly,
    optimized_storage: b.optimizedStorage,
  };
}
