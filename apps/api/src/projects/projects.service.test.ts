import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Project } from '@lxdts/api-types';
import type { Identity } from '../auth/identity.js';
import { ApiError } from '../http/api-error.js';
import { openStoreFixture } from './store-fixture.js';

const status = (code: number, message?: RegExp) => (e: unknown) =>
  e instanceof ApiError && e.status === code && (!message || message.test(e.message));

test('creating a project enables the default features and gives it its own default profile', async () => {
  const f = await openStoreFixture();
  try {
    const location = await f.projects.create({ name: 'p1', description: 'first', config: {} }, f.identity);
    assert.equal(location, '/1.0/projects/p1');
    const p = await f.projects.get('p1', f.identity);
    assert.deepEqual(p, {
      config: { 'features.images': 'true', 'features.profiles': 'true', 'features.storage.volumes': 'true' },
      description: 'first',
      name: 'p1',
      used_by: ['/1.0/profiles/default?project=p1'],
    });
    await f.projects.create({ name: 'p2', description: '', config: { 'features.profiles': 'false', 'features.networks': 'true' } }, f.identity);
    assert.deepEqual((await f.projects.get('p2', f.identity)).used_by, []);
    assert.deepEqual(await f.projects.list(f.identity, 0), ['/1.0/projects/default', '/1.0/projects/p1', '/1.0/projects/p2']);
    assert.deepEqual(f.lifecycle.map((e) => [e.action, e.source, e.project]), [
      ['project-created', '/1.0/projects/p1', 'p1'],
      ['project-created', '/1.0/projects/p2', 'p2'],
    ]);
  } finally {
    await f.close();
  }
});

test('bad project requests change nothing', async () => {
  const f = await openStoreFixture();
  try {
    const before = await f.projects.list(f.identity, 1);
    await assert.rejects(f.projects.create({ name: 'a/b', description: '', config: {} }, f.identity), status(400));
    await assert.rejects(f.projects.create({ name: 'a_b', description: '', config: {} }, f.identity), status(400, /underscores/));
    await assert.rejects(f.projects.create({ name: 'x', description: '', config: { bogus: '1' } }, f.identity), status(400, /Invalid project configuration key "bogus"/));
    await assert.rejects(f.projects.create({ name: 'default', description: '', config: {} }, f.identity), status(409, /already exists/));
    await assert.rejects(
      f.projects.update('default', { description: 'x', config: { 'features.images': 'false' } }, { description: true, config: true }, undefined, f.identity),
      status(400, /You can't change the features of the default project/),
    );
    await assert.rejects(f.projects.update('default', { description: 'x', config: {} }, null, '"nope"', f.identity), status(412));
    await assert.rejects(f.projects.update('nope', { description: '', config: {} }, null, undefined, f.identity), status(404, /Project not found/));
    await assert.rejects(f.projects.delete('default', f.identity), status(403, /The 'default' project cannot be deleted/));
    await assert.rejects(f.projects.rename('default', 'x', f.identity), status(403, /cannot be renamed/));
    assert.deepEqual(await f.projects.list(f.identity, 1), before);
  } finally {
    await f.close();
  }
});

test('PUT replaces, PATCH merges, features only change while empty', async () => {
  const f = await openStoreFixture();
  try {
    await f.projects.create({ name: 'p', description: '', config: {} }, f.identity);
    await f.projects.update('p', { description: 'd', config: { 'user.a': '1' } }, { description: false, config: true }, undefined, f.identity);
    let p = await f.projects.get('p', f.identity);
    assert.equal(p.description, '');
    assert.equal(p.config['user.a'], '1');
    assert.equal(p.config['features.images'], 'true');
    // Turning features.profiles off removes the project's own default profile.
    await f.projects.update('p', { description: 'd', config: { 'features.images': 'true' } }, null, undefined, f.identity);
    p = await f.projects.get('p', f.identity);
    assert.deepEqual(p.config, { 'features.images': 'true' });
    assert.deepEqual(p.used_by, []);
    await f.projects.update('p', { description: '', config: { 'features.profiles': 'true' } }, { description: false, config: true }, undefined, f.identity);
    assert.deepEqual((await f.projects.get('p', f.identity)).used_by, ['/1.0/profiles/default?project=p']);
    await f.addInstance('p', 'c1', ['default']);
    await assert.rejects(
      f.projects.update('p', { description: '', config: { 'features.images': 'false' } }, { description: false, config: true }, undefined, f.identity),
      status(400, /Project feature "features.images" cannot be disabled on non-empty projects/),
    );
    await assert.rejects(
      f.projects.update('p', { description: '', config: { 'features.networks': 'true' } }, { description: false, config: true }, undefined, f.identity),
      status(400, /cannot be enabled on non-empty projects/),
    );
    await assert.rejects(
      f.projects.update('p', { description: '', config: { 'limits.instances': '0' } }, { description: false, config: true }, undefined, f.identity),
      status(400, /"limits.instances" is too low/),
    );
  } finally {
    await f.close();
  }
});

test('rename and delete need an empty project; used_by lists its content', async () => {
  const f = await openStoreFixture();
  try {
    await f.projects.create({ name: 'p', description: '', config: {} }, f.identity);
    await f.addInstance('p', 'c1', ['default']);
    assert.deepEqual((await f.projects.get('p', f.identity)).used_by, ['/1.0/instances/c1?project=p', '/1.0/profiles/default?project=p']);
    await assert.rejects(f.projects.delete('p', f.identity), status(409, /Only empty projects can be removed/));
    await assert.rejects(f.projects.rename('p', 'q', f.identity), status(409, /Only empty projects can be renamed/));
    await f.store.transaction((tx) => tx.deleteFrom('instances').execute());
    await assert.rejects(f.projects.rename('p', 'default', f.identity), status(409, /A project named "default" already exists/));
    const op = await f.projects.rename('p', 'q', f.identity);
    assert.equal((await f.operations.wait(op.id, 5)).status, 'Success');
    assert.deepEqual((await f.projects.get('q', f.identity)).used_by, ['/1.0/profiles/default?project=q']);
    await f.projects.delete('q', f.identity);
    await assert.rejects(f.projects.get('q', f.identity), status(404));
    const renamed = f.lifecycle.find((e) => e.action === 'project-renamed');
    assert.deepEqual([renamed?.source, renamed?.context], ['/1.0/projects/q', { old_name: 'p' }]);
    assert.equal(f.lifecycle.at(-1)?.action, 'project-deleted');
  } finally {
    await f.close();
  }
});

test('restricted clients only see their projects; state counts usage', async () => {
  const f = await openStoreFixture();
  try {
    await f.projects.create({ name: 'mine', description: '', config: { 'limits.containers': '3' } }, f.identity);
    await f.projects.create({ name: 'other', description: '', config: {} }, f.identity);
    const restricted: Identity = { ...f.identity, transport: 'tls', restricted: true, projects: ['mine'] };
    assert.deepEqual((await f.projects.list(restricted, 1) as Project[]).map((p) => p.name), ['mine']);
    await assert.rejects(f.projects.get('other', restricted), status(403));
    await f.addInstance('mine', 'c1', ['default'], { config: { 'limits.memory': '1GiB' } });
    await f.addInstance('mine', 'v1', ['default'], { type: 1 });
    const state = await f.projects.state('mine', restricted);
    assert.deepEqual(state.resources.containers, { Limit: 3, Usage: 1 });
    assert.deepEqual(state.resources['virtual-machines'], { Limit: -1, Usage: 1 });
    assert.deepEqual(state.resources.memory, { Limit: -1, Usage: 1024 ** 3 });
  } finally {
    await f.close();
  }
});
