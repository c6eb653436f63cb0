import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { SqliteStore } from '@lxdts/raft-store';
import { unixIdentity } from '../auth/identity.js';
import { EventsService } from '../events/events.service.js';
import { ApiError } from '../http/api-error.js';
import { WarningEntityType, WarningType } from './warning-types.js';
import { WarningsRepository } from './warnings.repository.js';
import { WarningsService } from './warnings.service.js';

const status = (code: number) => (err: unknown) => err instanceof ApiError && err.status === code;

async function withService(fn: (svc: WarningsService, frames: string[]) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'lxdts-warnings-'));
  const store = await SqliteStore.open(join(dir, 'db', 'local.db'));
  const events = new EventsService();
  const frames: string[] = [];
  events.subscribe({ types: new Set(['lifecycle']), project: null, send: (f) => frames.push(f) });
  try {
    await fn(new WarningsService(new WarningsRepository(store), events), frames);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

test('raise creates a warning, raising again counts it, resolve and re-raise cycle its status', async () => {
  await withService(async (svc) => {
    const uuid = await svc.raise(WarningType.AppArmorNotAvailable, 'no AppArmor');
    assert.equal(await svc.raise(WarningType.AppArmorNotAvailable, 'still no AppArmor'), uuid);
    let w = await svc.get(uuid);
    assert.equal(w.count, 2);
    assert.equal(w.last_message, 'still no AppArmor');
    assert.equal(w.type, 'AppArmor support has been disabled');
    assert.equal(w.severity, 'low');
    assert.equal(w.status, 'new');
    assert.equal(w.location, 'none');
    assert.equal(w.project, '');
    assert.equal(w.entity_url, '');

    assert.equal(await svc.resolve(WarningType.AppArmorNotAvailable), 1);
    assert.equal((await svc.get(uuid)).status, 'resolved');
    assert.equal(await svc.resolve(WarningType.AppArmorNotAvailable), 0);
    await svc.raise(WarningType.AppArmorNotAvailable, 'back');
    w = await svc.get(uuid);
    assert.equal(w.status, 'new');
    assert.equal(w.count, 3);
  });
});

test('warnings carry project and entity; list filters by project', async () => {
  await withService(async (svc) => {
    const a = await svc.raise(WarningType.NetworkUnavailable, 'bridge down', {
      project: 'default',
      entity: { type: WarningEntityType.Profile, id: 1 },
    });
    await svc.raise(WarningType.MissingVirtiofsd, 'no virtiofsd');
    const w = await svc.get(a);
    assert.equal(w.project, 'default');
    assert.equal(w.severity, 'high');
    assert.equal(w.entity_url, '/1.0/profiles/default?project=default');
    assert.equal((await svc.list()).length, 2);
    assert.deepEqual((await svc.list('default')).map((x) => x.uuid), [a]);
    assert.deepEqual(await svc.list('other'), []);
    await assert.rejects(svc.raise(WarningType.NetworkUnavailable, 'x', { project: 'missing' }), status(404));
    // resolving narrowed to another entity leaves this one alone
    assert.equal(await svc.resolve(WarningType.NetworkUnavailable, { project: 'default', entity: { type: WarningEntityType.Profile, id: 2 } }), 0);
    assert.equal(await svc.resolve(WarningType.NetworkUnavailable, { project: 'default' }), 1);
  });
});

test('clients may acknowledge, reset and delete warnings, not resolve them', async () => {
  await withService(async (svc, frames) => {
    const uuid = await svc.raise(WarningType.ClusterTimeSkew, 'skew');
    const who = unixIdentity();
    await svc.setStatus(uuid, 'acknowledged', who);
    assert.equal((await svc.get(uuid)).status, 'acknowledged');
    await svc.setStatus(uuid, 'new', who);
    await assert.rejects(svc.setStatus(uuid, 'resolved', who), status(403));
    await assert.rejects(svc.setStatus(uuid, 'bogus', who), status(400));
    await assert.rejects(svc.setStatus('nope', 'new', who), status(404));
    await svc.delete(uuid, who);
    await assert.rejects(svc.get(uuid), status(404));
    await assert.rejects(svc.delete(uuid, who), status(404));
    const actions = frames.map((f) => (JSON.parse(f) as { metadata: { action: string; source: string } }).metadata);
    assert.deepEqual(actions.map((m) => m.action), ['warning-acknowledged', 'warning-reset', 'warning-deleted']);
    assert.equal(actions[0]!.source, `/1.0/warnings/${uuid}`);
  });
});
