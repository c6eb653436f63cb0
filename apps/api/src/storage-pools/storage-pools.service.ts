// Storage pools: validation, the dir pool's directories (made by the agent: host filesystem work) and the database
// rows kept in step, used_by, events.
import { isAbsolute, join, relative, resolve } from 'node:path';
import { Inject, Injectable, Logger } from '@nestjs/common';
import type { AgentPoolCreated, ResourcesStoragePool, StoragePool, StoragePoolPut, StoragePoolStatus, StoragePoolsPost } from '@lxdts/api-types';
import { type AgentClient, AgentRequestError } from '../agent/agent.client.js';
import type { Identity } from '../auth/identity.js';
import type { DaemonPaths } from '../daemon/paths.js';
import { AGENT_CLIENT, DAEMON_PATHS } from '../daemon/tokens.js';
import { EventsService } from '../events/events.service.js';
import { ApiError, badRequest, conflict, internalError, notFound } from '../http/api-error.js';
import { validateEntityName } from '../http/entity-name.js';
import { apiUrl } from '../projects/api-url.js';
import { MEMBER_SPECIFIC_KEYS, validateDirPoolConfig } from './storage-pool-config.js';
import { type PoolConfigEntry, type PoolReferences, type PoolRow, StoragePoolsRepository } from './storage-pools.repository.js';
import { localMember } from '../cluster/local-member.js';

/** Standalone daemons are member 1 ("none") of their own database. */
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

/** The agent calls pool changes make. */
export type DirPoolAgent = Pick<AgentClient, 'createDirPool' | 'undoCreateDirPool' | 'deleteDirPool' | 'dirPoolResources'>;

/** Where failures that don't fail the request are reported (cleanup after the row is gone). */
export type PoolLog = Pick<Logger, 'warn'>;

@Injectable()
export class StoragePoolsService {
  /** Pool changes touch the filesystem and the database together; one at a time keeps them consistent. */
  private queue: Promise<unknown> = Promise.resolve();

  /** Replaceable in tests. */
  log: PoolLog = new Logger('StoragePools');

  constructor(
    private readonly repo: StoragePoolsRepository,
    @Inject(AGENT_CLIENT) private readonly agent: DirPoolAgent,
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

  /**
   * A member joining a cluster gets its own source for every dir pool (`member_config` from the join preseed, else
   * the default under its `$LXD_DIR/storage-pools`): directories made by its agent, then its per-member rows.
   */
  async joinMember(sources: Record<string, string>): Promise<void> {
    await this.serialized(async () => {
      for (const pool of await this.repo.list()) {
        if (pool.driver !== 'dir') continue;
        const given = sources[pool.name] ?? '';
        const source = given === '' ? join(this.paths.storagePools, pool.name) : resolve(given);
        const created = await this.agent.createDirPool({ source }).catch(fromAgent);
        try {
          await this.repo.addMember(pool.id, localMember.nodeId, [{ key: 'source', value: source, nodeId: localMember.nodeId }], STATE_CREATED);
        } catch (err) {
          await this.agent.undoCreateDirPool(created).catch(() => undefined);
          throw err;
        }
      }
    });
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

      // The directories first, then the row; a row that can't be written takes the directories back.
      const created = await this.agent.createDirPool({ source }).catch(fromAgent);
      const config: PoolConfigEntry[] = [];
      for (const [key, value] of Object.entries(req.config)) {
        if (key === 'source' || value === '') continue;
        config.push({ key, value, nodeId: MEMBER_SPECIFIC_KEYS.has(key) ? localMember.nodeId : null });
      }
      config.push({ key: 'source', value: source, nodeId: localMember.nodeId });
      // dir keeps `source` as given, so it records no volatile.initial_source (drivers that rewrite it do).
      if (given !== '' && created.createdRoot) config.push({ key: OWNS_SOURCE_KEY, value: created.createdRoot, nodeId: localMember.nodeId });
      try {
        await this.repo.create({
          name: req.name,
          driver: req.driver,
          description: req.description,
          state: STATE_CREATED,
          config,
          nodes: [{ nodeId: localMember.nodeId, state: STATE_CREATED }],
        });
      } catch (err) {
        await this.undoCreate(created);
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
        entries.push({ key, value, nodeId: MEMBER_SPECIFIC_KEYS.has(key) ? localMember.nodeId : null });
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
      // The row first: once it is gone the pool is gone, whatever happens to its directories then.
      await this.repo.delete(pool.row.id);
      if (!source) return;
      try {
        await this.agent.deleteDirPool({ source, ownedRoot });
      } catch (err) {
        this.log.warn(`Storage pool "${name}" deleted; removing its directories in '${source}' failed: ${(err as Error).message}`);
      }
    });
    this.events.lifecycle('storage-pool-deleted', poolUrl(name), 'default', identity);
  }

  async resources(name: string): Promise<ResourcesStoragePool> {
    const source = sourceOf((await this.load(name)).entries);
    try {
      return await this.agent.dirPoolResources({ source });
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
    for (const other of await this.repo.valuesOf('source', localMember.nodeId)) {
      if (isWithin(source, other.value) || isWithin(other.value, source)) {
        throw badRequest(`Source path '${source}' is already used by storage pool "${other.pool}"`);
      }
    }
  }

  private async undoCreate(created: AgentPoolCreated): Promise<void> {
    try {
      await this.agent.undoCreateDirPool(created);
    } catch (err) {
      this.log.warn(`Taking back the directories of a failed storage pool creation failed: ${(err as Error).message}`);
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
  for (const e of entries) if (e.nodeId === localMember.nodeId && e.key !== OWNS_SOURCE_KEY) out[e.key] = e.value;
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => a.localeCompare(b)));
}

function sourceOf(entries: PoolConfigEntry[]): string {
  return entries.find((e) => e.key === 'source' && e.nodeId === localMember.nodeId)?.value ?? entries.find((e) => e.key === 'source')?.value ?? '';
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

function isWithin(path: string, dir: string): boolean {
  const rel = relative(dir, path);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

/** The agent's refusals of a source keep LXD's messages (400); other failures are internal errors. */
function fromAgent(err: unknown): never {
  if (!(err instanceof AgentRequestError)) throw err;
  if (err.code === 'bad_request') throw badRequest(err.message);
  if (err.code === 'unavailable') throw new ApiError(503, err.message);
  throw internalError(err.message);
}
