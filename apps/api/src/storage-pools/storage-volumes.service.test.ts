import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { SqliteStore } from '@lxdts/raft-store';
import { ApiError } from '../http/api-error.js';
import { StoragePoolsRepository } from './storage-pools.repository.js';
import { StorageVolumesRepository } from './storage-volumes.repository.js';
import { StorageVolumesService } from './storage-volumes.service.js';

test('volume listing: snapshots as <volume>/<snapshot>, URLs by type and project, filters', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lxdts-volumes-'));
  const store = await SqliteStore.open(join(dir, 'db', 'local.db'));
  try {
    const pools = new StoragePoolsRepository(store);
    const poolId = await pools.create({ name: 'default', driver: 'dir', description: '', state: 1, config: [], nodes: [{ nodeId: 1, state: 1 }] });
    await store.db.insertInto('projects').values({ name: 'other', description: '' }).execute();
    const add = async (name: string, type: number, project_id = 1) =>
      Number(
        (await store.db.insertInto('storage_volumes').values({ name, storage_pool_id: poolId, node_id: 1, type, description: '', project_id, content_type: 0, creation_date: '2026-12-03T10:00:00Z' }).executeTakeFirstOrThrow()).insertId,
      );
    const c1 = await add('c1', 0);
    await store.db.insertInto('storage_volumes_snapshots').values({ storage_volume_id: c1, name: 's1', description: 'snap', expiry_date: null, creation_date: '2026-12-03T11:00:00Z' }).execute();
    const data = await add('data', 2);
    await store.db.insertInto('storage_volumes_config').values({ storage_volume_id: data, key: 'size', value: '1GiB' }).execute();
    await add('elsewhere', 2, 2);
    await store.db.insertInto('profiles_devices').values({ profile_id: 1, name: 'data', type: 'disk' }).execute();
    await store.db.insertInto('profiles_devices_config').values([
      { profile_device_id: 1, key: 'pool', value: 'default' },
      { profile_device_id: 1, key: 'source', value: 'data' },
    ]).execute();

    const svc = new StorageVolumesService(pools, new StorageVolumesRepository(store));
    const listed = await svc.list({ pool: 'default', project: 'default' });
    assert.deepEqual(listed.map((v) => v.url), [
      '/1.0/storage-pools/default/volumes/container/c1',
      '/1.0/storage-pools/default/volumes/container/c1/snapshots/s1',
      '/1.0/storage-pools/default/volumes/custom/data',
    ]);
    assert.deepEqual(listed[1]!.volume, {
      config: {}, description: 'snap', name: 'c1/s1', used_by: ['/1.0/instances/c1/snapshots/s1'], created_at: '2026-12-03T11:00:00Z',
      type: 'container', location: 'none', content_type: 'filesystem', project: 'default',
    });
    assert.deepEqual(listed[2]!.volume.used_by, ['/1.0/profiles/default']);
    assert.deepEqual(listed[2]!.volume.config, { size: '1GiB' });

    const all = await svc.list({ pool: 'default' });
    assert.equal(all.at(-1)!.url, '/1.0/storage-pools/default/volumes/custom/elsewhere?project=other');
    assert.deepEqual((await svc.list({ pool: 'default', project: 'default', type: 'custom' })).map((v) => v.volume.name), ['data']);
    assert.equal((await svc.get({ pool: 'default', project: 'default', type: 'custom', name: 'data' })).name, 'data');
    await assert.rejects(svc.get({ pool: 'default', project: 'default', type: 'custom', name: 'nope' }), (e) => e instanceof ApiError && e.status === 404);
    await assert.rejects(svc.list({ pool: 'default', type: 'bogus' }), (e) => e instanceof ApiError && e.status === 400);
    await assert.rejects(svc.list({ pool: 'nope' }), (e) => e instanceof ApiError && e.status === 404);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
