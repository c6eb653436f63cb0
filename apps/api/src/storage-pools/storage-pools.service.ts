// Storage pools: validation, the dir driver's directories and the database rows kept in step, used_by, events.
import { isAbsolute, join, resolve } from 'node:path';
import { Inject, Injectable } from '@nestjs/common';
import type { ResourcesStoragePool, StoragePool, StoragePoolPut, StoragePoolStatus, StoragePoolsPost } from '@lxdts/api-types';
import type { Identity } from '../auth/identity.js';
import type { DaemonPaths } from '../daemon/paths.js';
import { DAEMON_PATHS } from '../daemon/tokens.js';
import { EventsService } from '../events/events.service.js';
import { badRequest, conflict, internalError, notFound } from '../http/api-error.js';
import { validateEntityName } from '../http/entity-name.js';
import { apiUrl } from '../projects/api-url.js';
import { DirPoolDriver, isWithin } from './dir-pool.driver.js';
import { MEMBER_SPECIFIC_KEYS, validateDirPoolConfig } from './storage-pool-config.js';
import { type PoolConfigEntry, type PoolReferences, type PoolRow, StoragePoolsRepository } from './storage-pools.repository.js';

/** Standalone daemons are member 1 ("none") of their own database. */
const LOCAL_NODE_ID = 1;
const STATE_CREATED = 1;

/**
 * Internal, never shown: the outermost directory the daemon created for a user-given `source`, so that deleting the
 * pool removes it again (a pre-existing `source` is left in place).
 */
const OWNS_SOURCE_KEY = 'lxdts.source_created';

/** Drivers LXD 5.0.2 knows but lxdts does not implement yet. */
const LATER_DRIVERS = ['btrfs', 'lvm', 'zfs', 'ceph', 'cephfs', 'cephobject'];

const STATUS: Readonly<Record<number, StoragePoolStatus>> = { 0: 'Pending', 1: 'Created', 2: 'Errored' };

interface LoadedPool {
  row: PoolRow;
  entries: PoolConfigEntry[];
}

@Injectable()
export class StoragePoolsService {
  /** Pool changes touch the filesystem and the database together; one at a time keeps them consistent. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly repo: StoragePoolsRepository,
    private readonly driver: DirPoolDriver,
    private readonly events: EventsService,
    @Inject(DAEMON_PATHS) private readonly paths: DaemonPaths,
  ) {}

  async names(): Promise<string[]> {
    return (await this.repo.list()).map((p) => p.name);
  }

  async list(): Promise<StoragePool[]> {
    const rows = await this.repo.list();
    return Promise.all(rows.map(async (row) => this.toApi({ row, entries: await this.repo.config(row.id) })));
  }

  async get(name: string): Promise<StoragePool> {
    return this.toApi(await this.load(name));
  }

  async create(req: StoragePoolsPost, identity: Identity): Promise<string> {
    if (req.name === '') throw badRequest('No name provided');
    if (req.name.includes('/')) throw badRequest('Storage pool names may not contain slashes');
    validateEntityName('storage pool', req.name);
    if (req.driver === '') throw badRequest('No driver provided');
    if (req.driver !== 'dir') {
      if (LATER_DRIVERS.includes(req.driver)) throw badRequest(`Storage pool driver "${req.driver}" is not supported yet (supported: dir)`);
      throw badRequest(`Unknown storage pool driver "${req.driver}"`);
    }
    if (OWNS_SOURCE_KEY in req.config) throw badRequest(`Invalid option "${OWNS_SOURCE_KEY}"`);
    validateDirPoolConfig(req.config);

    return this.serialized(async () => {
      if (await this.repo.get(req.name)) throw conflict('The storage pool already exists');
      const defaultSource = join(this.paths.storagePools, req.name);
      const given = req.config['source'] ?? '';
      const source = given === '' ? defaultSource : resolve(given);
      if (given !== '') await this.checkUserSource(given, source, defaultSource);

      const created = this.driver.create(source);
      const config: PoolConfigEntry[] = [];
      for (const [key, value] of Object.entries(req.config)) {
        if (key === 'source' || value === '') continue;
        config.push({ key, value, nodeId: MEMBER_SPECIFIC_KEYS.has(key) ? LOCAL_NODE_ID : null });
      }
      config.push({ key: 'source', value: source, nodeId: LOCAL_NODE_ID });
      // dir keeps `source` as given, so it records no volatile.initial_source (drivers that rewrite it do).
      if (given !== '' && created.createdRoot) config.push({ key: OWNS_SOURCE_KEY, value: created.createdRoot, nodeId: LOCAL_NODE_ID });
      try {
        await this.repo.create({
          name: req.name,
          driver: req.driver,
          description: req.description,
          state: STATE_CREATED,
          config,
          nodes: [{ nodeId: LOCAL_NODE_ID, state: STATE_CREATED }],
        });
      } catch (err) {
        this.driver.undoCreate(created);
        throw err;
      }
      const url = poolUrl(req.name);
      this.events.lifecycle('storage-pool-created', url, 'default', identity);
      return url;
    });
  }

  /** PUT (`replace`) or PATCH (`merge`, where `description` only changes when the body has it). */
  async update(name: string, input: StoragePoolPut & { hasDescription: boolean }, mode: 'replace' | 'merge', identity: Identity): Promise<void> {
    await this.serialized(async () => {
      const pool = await this.load(name);
      const current = visibleConfig(pool.entries);
      const next: Record<string, string> = mode === 'replace' ? { ...input.config } : { ...current, ...input.config };
      // volatile.* keys are the daemon's record; an edited config that drops them keeps them.
      for (const [k, v] of Object.entries(current)) if (k.startsWith('volatile.') && !(k in next)) next[k] = v;
      if (OWNS_SOURCE_KEY in next) throw badRequest(`Invalid option "${OWNS_SOURCE_KEY}"`);
      validateDirPoolConfig(next);
      if ((next['source'] ?? '') !== (current['source'] ?? '')) {
        throw badRequest('Pool source cannot be changed when not in pending state');
      }
      for (const [k, v] of Object.entries(next)) {
        if (k.startsWith('volatile.') && v !== current[k]) throw badRequest(`Volatile config key "${k}" cannot be changed`);
      }
      const description = mode === 'replace' || input.hasDescription ? input.description : pool.row.description;
      const entries: PoolConfigEntry[] = pool.entries.filter((e) => e.key === OWNS_SOURCE_KEY);
      for (const [key, value] of Object.entries(next)) {
        if (value === '') continue;
        entries.push({ key, value, nodeId: MEMBER_SPECIFIC_KEYS.has(key) ? LOCAL_NODE_ID : null });
      }
      await this.repo.update(pool.row.id, description, entries);
    });
    this.events.lifecycle('storage-pool-updated', poolUrl(name), 'default', identity);
  }

  async delete(name: string, identity: Identity): Promise<void> {
    await this.serialized(async () => {
      const pool = await this.load(name);
      if (await this.repo.inUse(pool.row.id, name)) throw badRequest('The storage pool is currently in use');
      const source = sourceOf(pool.entries);
      const ownedRoot =
        source === join(this.paths.storagePools, name) ? source : pool.entries.find((e) => e.key === OWNS_SOURCE_KEY)?.value;
      await this.repo.delete(pool.row.id, () => {
        if (source) this.driver.delete(source, ownedRoot);
      });
    });
    this.events.lifecycle('storage-pool-deleted', poolUrl(name), 'default', identity);
  }

  async resources(name: string): Promise<ResourcesStoragePool> {
    const source = sourceOf((await this.load(name)).entries);
    try {
      return this.driver.resources(source);
    } catch (err) {
      throw internalError(`Failed to get storage pool resources: ${(err as Error).message}`);
    }
  }

  /** The writable part (ETag input) of a pool as GET shows it. */
  static writable(pool: StoragePool): StoragePoolPut {
    return { config: pool.config, description: pool.description };
  }

  private async checkUserSource(given: string, source: string, defaultSource: string): Promise<void> {
    if (!isAbsolute(given)) throw badRequest(`Source path '${given}' must be an absolute path`);
    if (source !== defaultSource && isWithin(source, this.paths.varDir)) {
      throw badRequest(`Source path '${source}' is within the LXD directory`);
    }
    for (const other of await this.repo.valuesOf('source', LOCAL_NODE_ID)) {
      if (isWithin(source, other.value) || isWithin(other.value, source)) {
        throw badRequest(`Source path '${source}' is already used by storage pool "${other.pool}"`);
      }
    }
  }

  private async load(name: string): Promise<LoadedPool> {
    const row = await this.repo.get(name);
    if (!row) throw notFound('Storage pool not found');
    return { row, entries: await this.repo.config(row.id) };
  }

  private async toApi(pool: LoadedPool): Promise<StoragePool> {
    const [refs, locations] = await Promise.all([this.repo.references(pool.row.id, pool.row.name), this.repo.locations(pool.row.id)]);
    return {
      config: visibleConfig(pool.entries),
      description: pool.row.description,
      name: pool.row.name,
      driver: pool.row.driver,
      used_by: usedBy(pool.row.name, refs),
      status: STATUS[pool.row.state] ?? 'Unknown',
      locations,
    };
  }

  private serialized<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }
}

export const poolUrl = (name: string): string => apiUrl(['storage-pools', name]);

/** Member-specific values of this member override global ones. */
function visibleConfig(entries: PoolConfigEntry[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of entries) if (e.nodeId === null && e.key !== OWNS_SOURCE_KEY) out[e.key] = e.value;
  for (const e of entries) if (e.nodeId === LOCAL_NODE_ID && e.key !== OWNS_SOURCE_KEY) out[e.key] = e.value;
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => a.localeCompare(b)));
}

function sourceOf(entries: PoolConfigEntry[]): string {
  return entries.find((e) => e.key === 'source' && e.nodeId === LOCAL_NODE_ID)?.value ?? entries.find((e) => e.key === 'source')?.value ?? '';
}

/** LXD lists instances (and their snapshots), images, custom volumes and profiles, sorted. */
function usedBy(pool: string, refs: PoolReferences): string[] | null {
  const volumePath = (type: number, name: string): string[] =>
    type === 1 ? ['images', name] : type === 2 ? ['storage-pools', pool, 'volumes', 'custom', name] : ['instances', name];
  const urls = [
    ...refs.volumes.map((v) => apiUrl(volumePath(v.type, v.name), v.project)),
    ...refs.snapshots.map((s) => apiUrl([...volumePath(s.type, s.volume), 'snapshots', s.snapshot], s.project)),
    ...refs.profiles.map((p) => apiUrl(['profiles', p.name], p.project)),
  ];
  return urls.length ? [...new Set(urls)].sort() : null;
}
