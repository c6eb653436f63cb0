import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Profile } from '@lxdts/api-types';
import type { Identity } from '../auth/identity.js';
import { ApiError } from '../http/api-error.js';
import { etagOf } from '../http/etag.js';
import { type StoreFixture, openStoreFixture } from '../projects/store-fixture.js';
import { ProfilesRepository } from './profiles.repository.js';
import { ProfilesService, profileEtag } from './profiles.service.js';

const status = (code: number, message?: RegExp) => (e: unknown) =>
  e instanceof ApiError && e.status === code && (!message || message.test(e.message));

const empty = { config: {}, description: '', devices: {} };

async function setup(): Promise<StoreFixture & { profiles: ProfilesService }> {
  const f = await openStoreFixture();
  return { ...f, profiles: new ProfilesService(new ProfilesRepository(f.store), f.projects, f.events) };
}

test('create, read, list and the ETag LXD would compute', async () => {
  const f = await setup();
  try {
    const location = await f.profiles.create('default', { name: 'p1', description: 'anchor profile', config: { 'limits.cpu': '1', 'user.anchor': 'yes' }, devices: {} }, f.identity);
    assert.equal(location, '/1.0/profiles/p1');
    const p = await f.profiles.get('default', 'p1', f.identity);
    assert.deepEqual(p, { config: { 'limits.cpu': '1', 'user.anchor': 'yes' }, description: 'anchor profile', devices: {}, name: 'p1', used_by: [] });
    // Same bytes as the ETag real LXD 5.0.2 sent for this profile (wire transcript 14-profile).
    assert.equal(etagOf(profileEtag(p)), '33e0c8f267d8d4b68b20f95eecdad143a0852be2e79754b7a19ac39f90663449');
    assert.deepEqual(await f.profiles.list('default', f.identity, 0), ['/1.0/profiles/default', '/1.0/profiles/p1']);
    assert.deepEqual(((await f.profiles.list('default', f.identity, 1)) as Profile[]).map((x) => x.name), ['default', 'p1']);
    assert.deepEqual(f.lifecycle.map((e) => [e.action, e.source, e.project]), [['profile-created', '/1.0/profiles/p1', 'default']]);
  } finally {
    await f.close();
  }
});

test('bad input is a 4xx and changes nothing', async () => {
  const f = await setup();
  try {
    await f.store.transaction((tx) => tx.insertInto('storage_pools').values({ name: 'default', driver: 'dir', description: '', state: 1 }).execute());
    await f.profiles.create('default', { name: 'p1', ...empty }, f.identity);
    const before = await f.profiles.list('default', f.identity, 1);
    const bad: [string, Record<string, string>, Record<string, Record<string, string>>, RegExp][] = [
      ['', {}, {}, /No name provided/],
      ['a/b', {}, {}, /cannot contain "\/"/],
      ['..', {}, {}, /Invalid profile name/],
      ['a\nb', {}, {}, /control characters/],
      ['x', { 'no.such': '1' }, {}, /Unknown configuration key: no.such/],
      ['x', { 'volatile.x.hwaddr': '1' }, {}, /Volatile keys/],
      ['x', { 'limits.memory': '12 parsecs' }, {}, /Invalid value/],
      ['x', {}, { d: { type: 'floppy' } }, /Unsupported device type/],
      ['x', {}, { root: { type: 'disk', path: '/', pool: 'missing' } }, /Storage pool not found/],
    ];
    for (const [name, config, devices, msg] of bad) {
      await assert.rejects(f.profiles.create('default', { name, description: '', config, devices }, f.identity), status(400, msg), name);
    }
    await assert.rejects(f.profiles.create('default', { name: 'p1', ...empty }, f.identity), status(409, /The profile already exists/));
    await assert.rejects(f.profiles.update('default', 'p1', { ...empty, config: { bad: 'x' } }, null, undefined, f.identity), status(400));
    await assert.rejects(f.profiles.update('default', 'p1', empty, null, '"deadbeef"', f.identity), status(412, /ETag doesn't match/));
    await assert.rejects(f.profiles.update('default', 'nope', empty, null, undefined, f.identity), status(404, /Profile not found/));
    await assert.rejects(f.profiles.create('nope', { name: 'x', ...empty }, f.identity), status(404, /Failed loading project "nope": Project not found/));
    assert.deepEqual(await f.profiles.list('default', f.identity, 1), before);
    // A root disk on a pool that exists is fine.
    await f.profiles.create('default', { name: 'ok', description: '', config: {}, devices: { root: { type: 'disk', path: '/', pool: 'default' } } }, f.identity);
  } finally {
    await f.close();
  }
});

test('PUT replaces, PATCH merges config and devices', async () => {
  const f = await setup();
  try {
    await f.profiles.create('default', { name: 'p1', description: 'd', config: { 'limits.cpu': '1' }, devices: { e0: { type: 'nic', nictype: 'p2p' } } }, f.identity);
    const etag = profileEtag(await f.profiles.get('default', 'p1', f.identity));
    await f.profiles.update(
      'default',
      'p1',
      { config: { 'limits.memory': '1GB' }, description: '', devices: { e1: { type: 'nic', nictype: 'p2p', name: 'eth1' } } },
      { config: true, description: false, devices: true },
      `"${etagOf(etag)}"`,
      f.identity,
    );
    let p = await f.profiles.get('default', 'p1', f.identity);
    assert.deepEqual(p.config, { 'limits.cpu': '1', 'limits.memory': '1GB' });
    assert.equal(p.description, 'd');
    assert.deepEqual(Object.keys(p.devices), ['e0', 'e1']);
    // An empty value unsets the key.
    await f.profiles.update('default', 'p1', { config: { 'limits.cpu': '' }, description: '', devices: {} }, { config: true, description: false, devices: false }, undefined, f.identity);
    assert.deepEqual((await f.profiles.get('default', 'p1', f.identity)).config, { 'limits.memory': '1GB' });
    await f.profiles.update('default', 'p1', { config: {}, description: 'new', devices: {} }, null, undefined, f.identity);
    p = await f.profiles.get('default', 'p1', f.identity);
    assert.deepEqual([p.config, p.description, p.devices], [{}, 'new', {}]);
    assert.deepEqual(f.lifecycle.map((e) => e.action), ['profile-created', 'profile-updated', 'profile-updated', 'profile-updated']);
  } finally {
    await f.close();
  }
});

test('rename and delete rules', async () => {
  const f = await setup();
  try {
    await f.profiles.create('default', { name: 'p1', ...empty }, f.identity);
    await f.profiles.create('default', { name: 'p2', ...empty }, f.identity);
    await assert.rejects(f.profiles.rename('default', 'default', 'x', f.identity), status(403, /The "default" profile cannot be renamed/));
    await assert.rejects(f.profiles.delete('default', 'default', f.identity), status(403, /The "default" profile cannot be deleted/));
    await assert.rejects(f.profiles.rename('default', 'p1', 'p2', f.identity), status(409, /Name "p2" already in use/));
    await assert.rejects(f.profiles.rename('default', 'p1', 'a/b', f.identity), status(400));
    await assert.rejects(f.profiles.rename('default', 'nope', 'x', f.identity), status(404));
    assert.equal(await f.profiles.rename('default', 'p1', 'p3', f.identity), '/1.0/profiles/p3');
    const renamed = f.lifecycle.at(-1)!;
    assert.deepEqual([renamed.action, renamed.source, renamed.context], ['profile-renamed', '/1.0/profiles/p3', { old_name: 'p1' }]);
    await f.addInstance('default', 'c1', ['default', 'p3']);
    assert.deepEqual((await f.profiles.get('default', 'p3', f.identity)).used_by, ['/1.0/instances/c1']);
    await assert.rejects(f.profiles.delete('default', 'p3', f.identity), status(409, /Profile is currently in use/));
    await f.profiles.delete('default', 'p2', f.identity);
    await assert.rejects(f.profiles.delete('default', 'p2', f.identity), status(404, /Profile not found/));
  } finally {
    await f.close();
  }
});

test('projects without features.profiles use the default project profiles; used_by is filtered for restricted clients', async () => {
  const f = await setup();
  try {
    await f.projects.create({ name: 'shared', description: '', config: { 'features.profiles': 'false' } }, f.identity);
    await f.projects.create({ name: 'own', description: '', config: {} }, f.identity);
    assert.deepEqual(await f.profiles.list('shared', f.identity, 0), ['/1.0/profiles/default']);
    assert.deepEqual(await f.profiles.list('own', f.identity, 0), ['/1.0/profiles/default?project=own']);
    await f.profiles.create('shared', { name: 'sp', ...empty }, f.identity);
    assert.equal(f.lifecycle.at(-1)!.source, '/1.0/profiles/sp');
    await f.profiles.create('own', { name: 'op', ...empty }, f.identity);
    assert.deepEqual([f.lifecycle.at(-1)!.source, f.lifecycle.at(-1)!.project], ['/1.0/profiles/op?project=own', 'own']);
    await f.addInstance('shared', 'c1', ['default/default']);
    await f.addInstance('default', 'c0', ['default']);
    assert.deepEqual((await f.profiles.get('default', 'default', f.identity)).used_by, ['/1.0/instances/c0', '/1.0/instances/c1?project=shared']);
    const restricted: Identity = { ...f.identity, transport: 'tls', restricted: true, projects: ['shared'] };
    assert.deepEqual((await f.profiles.get('shared', 'default', restricted)).used_by, ['/1.0/instances/c1?project=shared']);
  } finally {
    await f.close();
  }
});

test('a restricted project refuses profiles that break its restrictions', async () => {
  const f = await setup();
  try {
    await f.projects.create({ name: 'r', description: '', config: { restricted: 'true' } }, f.identity);
    await assert.rejects(
      f.profiles.update('r', 'default', { config: { 'security.privileged': 'true' }, description: '', devices: {} }, null, undefined, f.identity),
      status(400, /Privileged containers are forbidden/),
    );
    await assert.rejects(
      f.profiles.create('r', { name: 'x', description: '', config: {}, devices: { u: { type: 'usb' } } }, f.identity),
      status(400, /USB devices are forbidden/),
    );
    await f.profiles.update('r', 'default', { config: { 'limits.cpu': '2' }, description: '', devices: {} }, null, undefined, f.identity);
  } finally {
    await f.close();
  }
});
