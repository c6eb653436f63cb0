// Storage pools: validation, each member's part of a pool made by its agent (a dir pool's directories, a btrfs pool's
// file system: host work) and the database rows kept in step, used_by, events.
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
import { BTRFS_MOUNT_KEY, btrfsLoopSize, btrfsMountPoint } from './btrfs-pool.js';
import { MEMBER_SPECIFIC_KEYS, validatePoolConfig } from './storage-pool-config.js';
import { type PoolConfigEntry, type PoolReferences, type PoolRow, StoragePoolsRepository } from './storage-pools.repository.js';
import { localMember } from '../cluster/local-member.js';

/** Standalone daemons are member 1 ("none") of their own database. */
const STATE_CREATED = 1;

/**
 * Internal, never shown: the outermost directory the daemon created for a user-given `source`, so that deleting the
 * pool removes it again (a pre-existing `source` is left in place).
 */
const OWNS_SOURCE_KEY = 'lxdts.source_created';
/** Keys under this prefix are the daemon's own record (OWNS_SOURCE_KEY, BTRFS_MOUNT_KEY): never shown nor set. */
const INTERNAL_PREFIX = 'lxdts.';

export const POOL_DRIVERS = ['dir', 'btrfs'];
/** Drivers LXD 5.0.2 knows that this host cannot run (no device-mapper, ZFS or Ceph in its kernel). */
const LATER_DRIVERS = ['lvm', 'zfs', 'ceph', 'cephfs', 'cephobject'];

/** One member's part of a pool, made: its config rows and how to take it back. */
interface MemberPart {
  entries: PoolConfigEntry[];
  undo(): Promise<void>;
}

const STATUS: Readonly<Record<number, StoragePoolStatus>> = { 0: 'Pending', 1: 'Created', 2: 'Errored' };

interface LoadedPool {
  row: PoolRow;
  entries: PoolConfigEntry[];
}

/** The agent calls pool changes make. */
export type DirPoolAgent = Pick<
  AgentClient,
  'createDirPool' | 'undoCreateDirPool' | 'deleteDirPool' | 'dirPoolResources' | 'createBtrfsPool' | 'mountBtrfsPool' | 'deleteBtrfsPool' | 'btrfsPoolResources'
>;

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
   * A member joining a cluster gets its own part of every pool (`member_config` sources from the join preseed, else
   * the defaults under its `$LXD_DIR`): made by its agent, then its per-member rows.
   */
  async joinMember(sources: Record<string, string>): Promise<void> {
    await this.serialized(async () => {
      for (const pool of await this.repo.list()) {
        if (!POOL_DRIVERS.includes(pool.driver)) continue;
        const config = visibleConfig(await this.repo.config(pool.id));
        const part = await this.makeMemberPart(pool.name, pool.driver, { ...config, source: sources[pool.name] ?? '' });
        try {
          await this.repo.addMember(pool.id, localMember.nodeId, part.entries, STATE_CREATED);
        } catch (err) {
          await part.undo();
          throw err;
        }
      }
    });
  }

  /** Mounts this member's btrfs pools (daemon start; a no-op for those mounted). Failures are logged, not fatal. */
  async mountAll(): Promise<void> {
    for (const pool of await this.repo.list()) {
      if (pool.driver !== 'btrfs') continue;
      const entries = await this.repo.config(pool.id);
      const source = sourceOf(entries);
      if (!source) continue;
      const config = visibleConfig(entries);
      try {
        await this.agent.mountBtrfsPool({ mountPoint: this.mountPointOf(pool.name, entries), source, mountOptions: config['btrfs.mount_options'] ?? undefined });
      } catch (err) {
        this.log.warn(`Could not mount storage pool "${pool.name}": ${(err as Error).message}`);
      }
    }
  }

  async create(req: StoragePoolsPost, identity: Identity): Promise<string> {
    if (req.name === '') throw badRequest('No name provided');
    if (req.name.includes('/')) throw badRequest('Storage pool names may not contain slashes');
    validateEntityName('storage pool', req.name);
    if (req.driver === '') throw badRequest('No driver provided');
    if (!POOL_DRIVERS.includes(req.driver)) {
      if (LATER_DRIVERS.includes(req.driver)) throw badRequest(`Storage pool driver "${req.driver}" is not supported on this host (supported: ${POOL_DRIVERS.join(', ')})`);
      throw badRequest(`Unknown storage pool driver "${req.driver}"`);
    }
    for (const key of Object.keys(req.config)) if (key.startsWith(INTERNAL_PREFIX)) throw badRequest(`Invalid option "${key}"`);
    validatePoolConfig(req.driver, req.config);

    return this.serialized(async () => {
      if (await this.repo.get(req.name)) throw conflict('The storage pool already exists');
      // This member's part first (directories, file system), then the rows; rows that can't be written take it back.
      const part = await this.makeMemberPart(req.name, req.driver, req.config);
      const config: PoolConfigEntry[] = [];
      for (const [key, value] of Object.entries(req.config)) {
        if (value === '' || part.entries.some((e) => e.key === key)) continue;
        config.push({ key, value, nodeId: MEMBER_SPECIFIC_KEYS.has(key) ? localMember.nodeId : null });
      }
      config.push(...part.entries);
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
        await part.undo();
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
      for (const key of Object.keys(next)) if (key.startsWith(INTERNAL_PREFIX)) throw badRequest(`Invalid option "${key}"`);
      validatePoolConfig(pool.row.driver, next);
      if ((next['source'] ?? '') !== (current['source'] ?? '')) {
        throw badRequest('Pool source cannot be changed when not in pending state');
      }
      if (pool.row.driver === 'btrfs' && (next['size'] ?? '') !== (current['size'] ?? '')) throw badRequest('Changing the size of a btrfs pool is not supported yet');
      if ((next['btrfs.mount_options'] ?? '') !== (current['btrfs.mount_options'] ?? '')) {
        throw badRequest('Changing btrfs.mount_options of a mounted pool is not supported yet');
      }
      for (const [k, v] of Object.entries(next)) {
        if (k.startsWith('volatile.') && v !== current[k]) throw badRequest(`Volatile config key "${k}" cannot be changed`);
      }
      const description = mode === 'replace' || input.hasDescription ? input.description : pool.row.description;
      const entries: PoolConfigEntry[] = pool.entries.filter((e) => e.key.startsWith(INTERNAL_PREFIX));
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
      // The row first: once it is gone the pool is gone, whatever happens to its directories then.
      await this.repo.delete(pool.row.id);
      if (!source) return;
      try {
        if (pool.row.driver === 'btrfs') {
          const initial = visibleConfig(pool.entries)['volatile.initial_source'];
          await this.agent.deleteBtrfsPool({ mountPoint: this.mountPointOf(name, pool.entries), source, ...(initial ? {} : { owned: source }) });
        } else {
          const ownedRoot = source === join(this.paths.storagePools, name) ? source : pool.entries.find((e) => e.key === OWNS_SOURCE_KEY)?.value;
          await this.agent.deleteDirPool({ source, ownedRoot });
        }
      } catch (err) {
        this.log.warn(`Storage pool "${name}" deleted; removing its storage in '${source}' failed: ${(err as Error).message}`);
      }
    });
    this.events.lifecycle('storage-pool-deleted', poolUrl(name), 'default', identity);
  }

  async resources(name: string): Promise<ResourcesStoragePool> {
    const pool = await this.load(name);
    try {
      if (pool.row.driver === 'btrfs') return await this.agent.btrfsPoolResources(this.mountPointOf(name, pool.entries));
      return await this.agent.dirPoolResources({ source: sourceOf(pool.entries) });
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

  /** This member's part of a new pool (or of a pool it joins), by driver. */
  private async makeMemberPart(name: string, driver: string, config: Record<string, string>): Promise<MemberPart> {
    return driver === 'btrfs' ? this.makeBtrfsPart(name, config) : this.makeDirPart(name, config);
  }

  /** A dir pool's directories: `source`, or `$LXD_DIR/storage-pools/<name>`. */
  private async makeDirPart(name: string, config: Record<string, string>): Promise<MemberPart> {
    const defaultSource = join(this.paths.storagePools, name);
    const given = config['source'] ?? '';
    const source = given === '' ? defaultSource : resolve(given);
    if (given !== '') await this.checkUserSource(given, source, defaultSource);
    const created = await this.agent.createDirPool({ source }).catch(fromAgent);
    const entries: PoolConfigEntry[] = [{ key: 'source', value: source, nodeId: localMember.nodeId }];
    // dir keeps `source` as given, so it records no volatile.initial_source (drivers that rewrite it do).
    if (given !== '' && created.createdRoot) entries.push({ key: OWNS_SOURCE_KEY, value: created.createdRoot, nodeId: localMember.nodeId });
    return { entries, undo: () => this.undoCreate(created) };
  }

  /**
   * A btrfs pool's file system, mounted at `$LXD_DIR/storage-pools/<name>`: a loop file `$LXD_DIR/disks/<name>.img`
   * of `size` (LXD's default: a fifth of the free space, 5 to 30 GiB), or the given `source`.
   */
  private async makeBtrfsPart(name: string, config: Record<string, string>): Promise<MemberPart> {
    const mountPoint = btrfsMountPoint(this.paths, name);
    const given = config['source'] ?? '';
    const mountOptions = config['btrfs.mount_options'] || undefined;
    const entries: PoolConfigEntry[] = [{ key: BTRFS_MOUNT_KEY, value: mountPoint, nodeId: localMember.nodeId }];
    let created: { source: string };
    if (given === '') {
      const size = btrfsLoopSize(this.paths, config['size'] ?? '');
      const loopFile = join(this.paths.varDir, 'disks', `${name}.img`);
      created = await this.agent.createBtrfsPool({ mountPoint, loopFile, size: size.bytes, ...(mountOptions ? { mountOptions } : {}) }).catch(fromAgent);
      entries.push({ key: 'size', value: size.text, nodeId: localMember.nodeId });
    } else {
      if (!isAbsolute(given)) throw badRequest(`Source path '${given}' must be an absolute path`);
      const source = resolve(given);
      for (const other of await this.repo.valuesOf('source', localMember.nodeId)) {
        if (source === other.value) throw badRequest(`Source '${source}' is already used by storage pool "${other.pool}"`);
      }
      created = await this.agent.createBtrfsPool({ mountPoint, source, ...(mountOptions ? { mountOptions } : {}) }).catch(fromAgent);
      entries.push({ key: 'volatile.initial_source', value: given, nodeId: localMember.nodeId });
    }
    entries.push({ key: 'source', value: created.source, nodeId: localMember.nodeId });
    const owned = given === '' ? { owned: created.source } : {};
    return {
      entries,
      undo: async () => {
        await this.agent.deleteBtrfsPool({ mountPoint, source: created.source, ...owned }).catch((err: Error) => {
          this.log.warn(`Taking back the file system of a failed storage pool creation failed: ${err.message}`);
        });
      },
    };
  }

  private mountPointOf(name: string, entries: PoolConfigEntry[]): string {
    return entries.find((e) => e.key === BTRFS_MOUNT_KEY && e.nodeId === localMember.nodeId)?.value ?? btrfsMountPoint(this.paths, name);
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
  for (const e of entries) if (e.nodeId === null && !e.key.startsWith(INTERNAL_PREFIX)) out[e.key] = e.value;
  for (const e of entries) if (e.nodeId === localMember.nodeId && !e.key.startsWith(INTERNAL_PREFIX)) out[e.key] = e.value;
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
  if (err.code === 'bad_request' || err.code === 'conflict') throw badRequest(err.message);
  if (err.code === 'unavailable') throw new ApiError(503, err.message);
  throw internalError(err.message);
}
