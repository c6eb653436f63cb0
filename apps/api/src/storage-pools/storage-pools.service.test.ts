// Storage pools over a real database and a fake agent (the directories are the agent's: apps/agent/src/storage/
// dir-pool.ts, tested there): validation, the order of directories and rows on create and delete, rollback,
// PUT/PATCH, used_by, events.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { AgentBtrfsPoolCreated, AgentPoolCreateRequest, AgentPoolCreated, AgentPoolDeleteRequest, AgentPoolResourcesRequest, ResourcesStoragePool } from '@lxdts/api-types';
import { type Store, SqliteStore } from '@lxdts/raft-store';
import { AgentRequestError } from '../agent/agent.client.js';
import { unixIdentity } from '../auth/identity.js';
import { daemonPaths } from '../daemon/paths.js';
import { EventsService } from '../events/events.service.js';
import { ApiError } from '../http/api-error.js';
import { type NewPool, StoragePoolsRepository } from './storage-pools.repository.js';
import { type DirPoolAgent, StoragePoolsService } from './storage-pools.service.js';

const who = unixIdentity();
const status = (code: number, message?: RegExp) => (err: unknown) =>
  err instanceof ApiError && err.status === code && (!message || message.test(err.message));

type AgentCall =
  | { op: 'create'; source: string }
  | { op: 'undo'; created: AgentPoolCreated }
  | { op: 'delete'; source: string; ownedRoot: string | undefined }
  | { op: 'resources'; source: string };

/** The agent's dir pool endpoints, recorded; a source is "created" when it is not in `existing`. */
class FakeDirPoolAgent implements DirPoolAgent {
  readonly calls: AgentCall[] = [];
  readonly existing = new Set<string>();
  refuse: AgentRequestError | null = null;
  failDelete = false;

  async createDirPool({ source }: AgentPoolCreateRequest): Promise<AgentPoolCreated> {
    this.calls.push({ op: 'create', source });
    if (this.refuse) throw this.refuse;
    const createdRoot = this.existing.has(source) ? null : source;
    this.existing.add(source);
    return { createdRoot, createdSubdirs: [join(source, 'containers'), join(source, 'images')] };
  }

  async undoCreateDirPool(created: AgentPoolCreated): Promise<void> {
    this.calls.push({ op: 'undo', created });
  }

  async deleteDirPool({ source, ownedRoot }: AgentPoolDeleteRequest): Promise<void> {
    this.calls.push({ op: 'delete', source, ownedRoot });
    if (this.failDelete) throw new AgentRequestError(500, 'internal', 'EBUSY: resource busy');
  }

  // btrfs pools are proved against a real file system (e2e/storage-btrfs.e2e.ts).
  async createBtrfsPool(): Promise<AgentBtrfsPoolCreated> {
    throw new Error('not in this test');
  }
  async mountBtrfsPool(): Promise<void> {}
  async deleteBtrfsPool(): Promise<void> {}
  async btrfsPoolResources(): Promise<ResourcesStoragePool> {
    throw new Error('not in this test');
  }

  async dirPoolResources({ source }: AgentPoolResourcesRequest): Promise<ResourcesStoragePool> {
    this.calls.push({ op: 'resources', source });
    if (source.endsWith('gone')) throw new AgentRequestError(500, 'internal', `ENOENT: no such file or directory, statfs '${source}'`);
    return { space: { used: 1, total: 10 }, inodes: { used: 2, total: 20 } };
  }
}

interface Env {
  svc: StoragePoolsService;
  agent: FakeDirPoolAgent;
  store: Store;
  tmp: string;
  varDir: string;
  actions: string[];
  warnings: string[];
}

async function withPools(fn: (env: Env) => Promise<void>, repoFor?: (store: Store) => StoragePoolsRepository): Promise<void> {
  const tmp = mkdtempSync(join(tmpdir(), 'lxdts-pools-'));
  const varDir = join(tmp, 'var');
  const paths = daemonPaths(varDir);
  const store = await SqliteStore.open(paths.database);
  const events = new EventsService();
  const actions: string[] = [];
  events.subscribe({ types: new Set(['lifecycle']), project: null, send: (f) => actions.push((JSON.parse(f) as { metadata: { action: string } }).metadata.action) });
  const repo = repoFor ? repoFor(store) : new StoragePoolsRepository(store);
  const agent = new FakeDirPoolAgent();
  const svc = new StoragePoolsService(repo, agent, events, paths);
  const warnings: string[] = [];
  svc.log = { warn: (m: string) => warnings.push(m) };
  try {
    await fn({ svc, agent, store, tmp, varDir, actions, warnings });
  } finally {
    await store.close();
    rmSync(tmp, { recursive: true, force: true });
  }
}

const post = (name: string, config: Record<string, string> = {}, driver = 'dir') => ({ name, driver, config, description: '' });

test('a default dir pool: directories under $LXD_DIR/storage-pools/<name> first, then the row; delete: the row, then the directories', async () => {
  await withPools(async ({ svc, agent, varDir, actions, store }) => {
    assert.equal(await svc.create(post('p1'), who), '/1.0/storage-pools/p1');
    const source = join(varDir, 'storage-pools', 'p1');
    assert.deepEqual(agent.calls, [{ op: 'create', source }]);
    const pool = await svc.get('p1');
    assert.deepEqual(pool, {
      config: { source }, description: '', name: 'p1', driver: 'dir', used_by: null, status: 'Created', locations: ['none'],
    });
    const rows = await store.db.selectFrom('storage_pools_config').select(['key', 'node_id']).execute();
    assert.deepEqual(rows, [{ key: 'source', node_id: 1 }]);
    await svc.delete('p1', who);
    // The pool owns its default source.
    assert.deepEqual(agent.calls.at(-1), { op: 'delete', source, ownedRoot: source });
    await assert.rejects(svc.get('p1'), status(404, /Storage pool not found/));
    assert.deepEqual(actions, ['storage-pool-created', 'storage-pool-deleted']);
  });
});

test('a user source the daemon created is owned (removed on delete); a pre-existing one is not', async () => {
  await withPools(async ({ svc, agent, tmp }) => {
    const created = join(tmp, 'new', 'deep', 'src');
    await svc.create(post('mine', { source: created }), who);
    assert.deepEqual((await svc.get('mine')).config, { source: created });
    await svc.delete('mine', who);
    assert.deepEqual(agent.calls.at(-1), { op: 'delete', source: created, ownedRoot: created });

    const existing = join(tmp, 'existing');
    agent.existing.add(existing);
    await svc.create(post('theirs', { source: existing }), who);
    await svc.delete('theirs', who);
    assert.deepEqual(agent.calls.at(-1), { op: 'delete', source: existing, ownedRoot: undefined });
  });
});

test('the agent refusing a source is LXD\'s 400, and no row is written', async () => {
  await withPools(async ({ svc, agent, tmp }) => {
    const source = join(tmp, 'full');
    agent.refuse = new AgentRequestError(400, 'bad_request', `Source path '${source}' isn't empty`);
    await assert.rejects(svc.create(post('refused', { source }), who), status(400, /^Source path '.*full' isn't empty$/));
    assert.deepEqual(await svc.names(), []);
    assert.deepEqual(agent.calls, [{ op: 'create', source }]);
  });
});

test('a failed database write takes back exactly the directories the creation made', async () => {
  class FailingRepository extends StoragePoolsRepository {
    override async create(_pool: NewPool): Promise<number> {
      throw new Error('database is locked');
    }
  }
  await withPools(
    async ({ svc, agent, varDir }) => {
      await assert.rejects(svc.create(post('p1'), who), /database is locked/);
      const source = join(varDir, 'storage-pools', 'p1');
      assert.deepEqual(agent.calls, [
        { op: 'create', source },
        { op: 'undo', created: { createdRoot: source, createdSubdirs: [join(source, 'containers'), join(source, 'images')] } },
      ]);
      assert.deepEqual(await svc.names(), []);
    },
    (store) => new FailingRepository(store),
  );
});

test('directories that cannot be removed after the row is gone are logged; the pool is deleted', async () => {
  await withPools(async ({ svc, agent, warnings, actions }) => {
    await svc.create(post('p1'), who);
    agent.failDelete = true;
    await svc.delete('p1', who);
    assert.deepEqual(await svc.names(), []);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /Storage pool "p1" deleted; removing its storage in '.*p1' failed: EBUSY/);
    assert.deepEqual(actions, ['storage-pool-created', 'storage-pool-deleted']);
  });
});

test('creation validates name, driver, keys and source', async () => {
  await withPools(async ({ svc, agent, tmp, varDir }) => {
    await assert.rejects(svc.create(post(''), who), status(400, /No name provided/));
    await assert.rejects(svc.create(post('a/b'), who), status(400, /may not contain slashes/));
    await assert.rejects(svc.create(post('p', {}, ''), who), status(400, /No driver provided/));
    await assert.rejects(svc.create(post('p', {}, 'zfs'), who), status(400, /"zfs" is not supported on this host/));
    await assert.rejects(svc.create(post('p', {}, 'foo'), who), status(400, /Unknown storage pool driver "foo"/));
    await assert.rejects(svc.create(post('p', { 'zfs.pool_name': 'x' }), who), status(400, /Invalid option "zfs.pool_name"/));
    await assert.rejects(svc.create(post('p', { 'rsync.compression': 'maybe' }), who), status(400, /boolean/));
    await assert.rejects(svc.create(post('p', { 'lxdts.source_created': '/' }), who), status(400));
    await assert.rejects(svc.create(post('p', { source: 'relative/dir' }), who), status(400, /absolute/));
    await assert.rejects(svc.create(post('p', { source: join(varDir, 'elsewhere') }), who), status(400, /within the LXD directory/));
    assert.deepEqual(agent.calls, []);
    await svc.create(post('p', { source: join(tmp, 's'), 'volume.size': '10GiB', 'user.note': 'x' }), who);
    await assert.rejects(svc.create(post('p'), who), status(409));
    await assert.rejects(svc.create(post('q', { source: join(tmp, 's') }), who), status(400, /already used by storage pool "p"/));
    await assert.rejects(svc.create(post('q', { source: join(tmp, 's', 'custom') }), who), status(400, /already used/));
    assert.equal(agent.calls.length, 1);
  });
});

test('PUT replaces and PATCH merges config; source and volatile keys cannot change', async () => {
  await withPools(async ({ svc, tmp, actions, agent }) => {
    const source = join(tmp, 's');
    await svc.create(post('p', { source, 'rsync.compression': 'false', 'volatile.initial_source': '/dev/old' }), who);
    const volatile = { 'volatile.initial_source': '/dev/old' };

    await assert.rejects(svc.update('p', { config: {}, description: '', hasDescription: true }, 'replace', who), status(400, /Pool source cannot be changed/));
    await assert.rejects(
      svc.update('p', { config: { source: join(tmp, 'other') }, description: '', hasDescription: false }, 'merge', who),
      status(400, /Pool source cannot be changed/),
    );
    await assert.rejects(svc.update('p', { config: { source, bogus: '1' }, description: '', hasDescription: false }, 'merge', who), status(400, /Invalid option/));
    await assert.rejects(
      svc.update('p', { config: { 'volatile.initial_source': '/x' }, description: '', hasDescription: false }, 'merge', who),
      status(400, /cannot be changed/),
    );

    // PUT without the volatile key keeps it; keys not given are dropped
    await svc.update('p', { config: { source, 'volume.size': '5GiB' }, description: 'put', hasDescription: true }, 'replace', who);
    assert.deepEqual((await svc.get('p')).config, { source, ...volatile, 'volume.size': '5GiB' });

    // PATCH: description only when given; "" removes a key
    await svc.update('p', { config: { 'rsync.bwlimit': '10MB', 'volume.size': '' }, description: '', hasDescription: false }, 'merge', who);
    const pool = await svc.get('p');
    assert.equal(pool.description, 'put');
    assert.deepEqual(pool.config, { 'rsync.bwlimit': '10MB', source, ...volatile });
    await svc.update('p', { config: {}, description: 'patched', hasDescription: true }, 'merge', who);
    assert.equal((await svc.get('p')).description, 'patched');
    assert.deepEqual(actions, ['storage-pool-created', 'storage-pool-updated', 'storage-pool-updated', 'storage-pool-updated']);

    // the internal ownership record survives edits: deleting still removes the directory the daemon made
    await svc.delete('p', who);
    assert.deepEqual(agent.calls.at(-1), { op: 'delete', source, ownedRoot: source });
  });
});

test('profiles and volumes show in used_by and keep the pool from being deleted; image volumes do not', async () => {
  await withPools(async ({ svc, store }) => {
    await svc.create(post('p'), who);
    const poolId = (await store.db.selectFrom('storage_pools').select('id').executeTakeFirstOrThrow()).id;
    await store.db.insertInto('projects').values({ name: 'other', description: '' }).execute();
    const volume = (name: string, type: number, project_id = 1) =>
      store.db.insertInto('storage_volumes').values({ name, storage_pool_id: poolId, node_id: 1, type, description: '', project_id, content_type: 0, creation_date: '2026-12-03T00:00:00Z' }).executeTakeFirstOrThrow();
    const img = await volume('d14fb1e4', 1);

    await store.db.insertInto('profiles_devices').values({ profile_id: 1, name: 'root', type: 'disk' }).execute();
    await store.db.insertInto('profiles_devices_config').values({ profile_device_id: 1, key: 'pool', value: 'p' }).execute();
    const c1 = await volume('c1', 0);
    await store.db.insertInto('storage_volumes_snapshots').values({ storage_volume_id: Number(c1.insertId), name: 's1', description: '', expiry_date: null, creation_date: '2026-12-03T00:00:00Z' }).execute();
    await volume('data', 2, 2);

    assert.deepEqual((await svc.get('p')).used_by, [
      '/1.0/images/d14fb1e4',
      '/1.0/instances/c1',
      '/1.0/instances/c1/snapshots/s1',
      '/1.0/profiles/default',
      '/1.0/storage-pools/p/volumes/custom/data?project=other',
    ]);
    await assert.rejects(svc.delete('p', who), status(400, /The storage pool is currently in use/));
    await store.db.deleteFrom('profiles_devices').execute();
    await assert.rejects(svc.delete('p', who), status(400, /currently in use/));
    await store.db.deleteFrom('storage_volumes').where('id', '!=', Number(img.insertId)).execute();
    await svc.delete('p', who);
    assert.deepEqual(await store.db.selectFrom('storage_volumes').selectAll().execute(), []);
  });
});

test('pool resources come from the agent (statfs of the source)', async () => {
  await withPools(async ({ svc, agent, varDir }) => {
    await svc.create(post('p'), who);
    assert.deepEqual(await svc.resources('p'), { space: { used: 1, total: 10 }, inodes: { used: 2, total: 20 } });
    assert.deepEqual(agent.calls.at(-1), { op: 'resources', source: join(varDir, 'storage-pools', 'p') });
    await assert.rejects(svc.resources('missing'), status(404));
    await svc.create(post('gone'), who);
    await assert.rejects(svc.resources('gone'), status(500, /^Failed to get storage pool resources: ENOENT/));
  });
});
