import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, test } from 'node:test';
import { SqliteStore } from '@lxdts/raft-store';
import { StatusCode } from '@lxdts/api-types';
import { unixIdentity } from '../auth/identity.js';
import { daemonPaths } from '../daemon/paths.js';
import { EventsService } from '../events/events.service.js';
import { OperationsService } from '../operations/operations.service.js';
import { ImageAliasesService } from './image-aliases.service.js';
import { ImageImportService } from './image-import.service.js';
import { ImageStore } from './image-store.js';
import { ImagesPostService } from './images-post.service.js';
import { ImagesRepository } from './images.repository.js';
import { ImagesService } from './images.service.js';
import { chunked, multipartBody, splitMetadata, splitRootfs, unifiedImage } from './testing/image-fixtures.js';
import type { ClusterRuntime } from '../cluster/cluster-runtime.js';

interface Env {
  dir: string;
  db: SqliteStore;
  store: ImageStore;
  operations: OperationsService;
  images: ImagesService;
  imports: ImageImportService;
  posts: ImagesPostService;
  aliases: ImageAliasesService;
  lifecycle: { action: string; source: string; context?: Record<string, unknown> }[];
}

let env: Env;
const identity = unixIdentity();
const sha256 = (...parts: Buffer[]) => createHash('sha256').update(Buffer.concat(parts)).digest('hex');

beforeEach(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lxdts-images-'));
  const db = await SqliteStore.open(join(dir, 'database', 'local.db'));
  const events = new EventsService();
  const lifecycle: Env['lifecycle'] = [];
  events.subscribe({
    types: new Set(['lifecycle']),
    project: null,
    send: (frame) => lifecycle.push((JSON.parse(frame) as { metadata: Env['lifecycle'][number] }).metadata),
  });
  const operations = new OperationsService(events);
  const repo = new ImagesRepository(db);
  const store = new ImageStore(daemonPaths(dir));
  await store.init();
  // Standalone: a cluster runtime that is not clustered.
  const images = new ImagesService(repo, store, events, operations, { member: { clustered: false } } as unknown as ClusterRuntime);
  const imports = new ImageImportService(images, repo, store, events);
  const posts = new ImagesPostService(images, imports, operations);
  const aliases = new ImageAliasesService(repo, images, events);
  env = { dir, db, store, operations, images, imports, posts, aliases, lifecycle };
});

afterEach(async () => {
  await env.db.close();
  rmSync(env.dir, { recursive: true, force: true });
});

/** Writes `data` into a fresh staging directory, as an upload or a publish would. */
async function staged(name: string, data: Buffer): Promise<string> {
  const path = join(await env.imports.createStagingDir(), name);
  writeFileSync(path, data);
  return path;
}

const imageFiles = () => readdirSync(env.store.dir).filter((f) => !f.startsWith('lxdts_build_')).sort();

test('importing a unified tarball stores it under its sha256, records it and emits image-created', async () => {
  const data = unifiedImage({ properties: { os: 'busybox', release: '1.35' } });
  const fp = sha256(data);
  const image = await env.imports.importFromTarball('default', await staged('image', data), {
    filename: 'busybox.tar.gz',
    properties: { extra: 'yes' },
    aliases: [{ name: 'bb', description: 'first' }],
    identity,
  });
  assert.equal(image.fingerprint, fp);
  assert.equal(image.size, data.length);
  assert.equal(image.architecture, 'x86_64');
  assert.equal(image.type, 'container');
  assert.equal(image.created_at, '2023-11-14T22:13:20Z');
  assert.equal(image.expires_at, '1970-01-01T00:00:00Z');
  assert.equal(image.last_used_at, '0001-01-01T00:00:00Z');
  assert.deepEqual(image.properties, { os: 'busybox', release: '1.35', extra: 'yes' });
  assert.deepEqual(image.profiles, ['default']);
  assert.deepEqual(image.aliases, [{ name: 'bb', description: 'first' }]);
  assert.deepEqual(imageFiles(), [fp]);
  assert.equal(statSync(join(env.store.dir, fp)).mode & 0o777, 0o600);
  assert.deepEqual(env.lifecycle.at(-1), {
    action: 'image-created',
    source: `/1.0/images/${fp}`,
    context: { type: 'container' },
    requestor: { username: 'root', protocol: 'unix', address: '@' },
  });

  assert.deepEqual((await env.images.list('default', identity)).map((i) => i.fingerprint), [fp]);
  assert.equal((await env.images.get('default', fp.slice(0, 6), identity)).fingerprint, fp);
  assert.deepEqual(await env.aliases.list('default'), [{ description: 'first', target: fp, name: 'bb', type: 'container' }]);
});

test('a duplicate import fails with LXD message and leaves the store as it was', async () => {
  const data = unifiedImage();
  await env.imports.importFromTarball('default', await staged('a', data), { filename: '' });
  await assert.rejects(
    env.imports.importFromTarball('default', await staged('b', data), { filename: '' }),
    /Image with same fingerprint already exists/,
  );
  assert.deepEqual(imageFiles(), [sha256(data)]);
  assert.equal((await env.images.list('default', identity)).length, 1);
});

test('a failed database insert removes the files it had put in place', async () => {
  const first = unifiedImage({ marker: 'one' });
  await env.imports.importFromTarball('default', await staged('a', first), { filename: '', aliases: [{ name: 'taken', description: '' }] });
  const second = unifiedImage({ marker: 'two' });
  await assert.rejects(
    env.imports.importFromTarball('default', await staged('b', second), { filename: '', aliases: [{ name: 'taken', description: '' }] }),
    /Alias already exists: taken/,
  );
  assert.deepEqual(imageFiles(), [sha256(first)]);
  assert.equal((await env.images.list('default', identity)).length, 1);
});

test('split images keep metadata and rootfs side by side, fingerprinted over both', async () => {
  const meta = splitMetadata();
  const rootfs = splitRootfs();
  const dir = await env.imports.createStagingDir();
  writeFileSync(join(dir, 'm'), meta);
  writeFileSync(join(dir, 'r'), rootfs);
  const image = await env.imports.importFiles({
    project: 'default',
    files: { metadata: join(dir, 'm'), rootfs: join(dir, 'r') },
    filename: 'rootfs.tar',
  });
  const fp = sha256(meta, rootfs);
  assert.equal(image.fingerprint, fp);
  assert.equal(image.size, meta.length + rootfs.length);
  assert.deepEqual(imageFiles(), [fp, `${fp}.rootfs`]);

  const resolved = await env.images.resolve('default', { fingerprint: fp.slice(0, 12) });
  assert.deepEqual(resolved.files, { metadata: join(env.store.dir, fp), rootfs: join(env.store.dir, `${fp}.rootfs`) });
  assert.deepEqual(resolved.formats, { metadata: 'gzip', rootfs: 'tar' });

  const exported = await env.images.exportFiles('default', fp, identity);
  assert.equal(exported.metadata.filename, `meta-${fp}.tar.gz`);
  assert.deepEqual(exported.rootfs && [exported.rootfs.filename, exported.rootfs.part], [`${fp}.tar`, 'rootfs']);
});

test('deleting runs as an operation that removes rows, aliases and files', async () => {
  const data = unifiedImage();
  const fp = sha256(data);
  await env.imports.importFromTarball('default', await staged('a', data), { filename: '', aliases: [{ name: 'bb', description: '' }] });
  const op = await env.images.delete('default', fp.slice(0, 8), identity);
  assert.equal(op.description, 'Deleting image');
  assert.deepEqual(op.resources, { images: [`/1.0/images/${fp}`] });
  const done = await env.operations.wait(op.id, 10);
  assert.equal(done.status_code, StatusCode.Success, done.err);
  assert.deepEqual(imageFiles(), []);
  assert.deepEqual(await env.aliases.list('default'), []);
  await assert.rejects(env.images.get('default', fp, identity), /Image not found/);
  assert.equal(env.lifecycle.at(-1)?.action, 'image-deleted');
});

test('projects with features.images have their own store; others share the default one', async () => {
  await env.db.raw('global', "INSERT INTO projects (name, description) VALUES ('own', ''), ('shared', '')");
  await env.db.raw(
    'global',
    "INSERT INTO projects_config (project_id, key, value) SELECT id, 'features.images', 'true' FROM projects WHERE name = 'own'",
  );
  const data = unifiedImage();
  const fp = sha256(data);
  await env.imports.importFromTarball('default', await staged('a', data), { filename: '' });
  assert.equal((await env.images.list('shared', identity)).length, 1);
  assert.equal((await env.images.list('own', identity)).length, 0);
  await assert.rejects(env.images.list('missing', identity), /Project not found/);

  const own = await env.imports.importFromTarball('own', await staged('b', data), { filename: '' });
  assert.deepEqual(own.profiles, ['default']);
  // Deleting the default project's copy keeps the files the other project still uses.
  const op = await env.images.delete('default', fp, identity);
  assert.equal((await env.operations.wait(op.id, 10)).status_code, StatusCode.Success);
  assert.deepEqual(imageFiles(), [fp]);
  assert.equal((await env.images.resolve('own', { fingerprint: fp })).project, 'own');
});

test('resolve finds images by alias or fingerprint and markUsed records the use', async () => {
  const data = unifiedImage();
  const fp = sha256(data);
  await env.imports.importFromTarball('default', await staged('a', data), { filename: '' });
  await env.aliases.create('default', { name: 'bb', target: fp.slice(0, 5), description: '', type: '' }, identity);
  const resolved = await env.images.resolve('default', { alias: 'bb' });
  assert.equal(resolved.image.fingerprint, fp);
  assert.equal(resolved.files.rootfs, null);
  assert.equal(resolved.formats.metadata, 'gzip');
  await assert.rejects(env.images.resolve('default', { alias: 'nope' }), /Image alias not found/);
  await assert.rejects(env.images.resolve('default', { fingerprint: 'ffff' }), /Image not found/);
  await env.images.markUsed(fp);
  assert.notEqual((await env.images.get('default', fp, identity)).last_used_at, '0001-01-01T00:00:00Z');
});

test('uploads: headers set properties, filename and visibility; a wrong X-LXD-fingerprint fails the operation', async () => {
  const data = unifiedImage();
  const fp = sha256(data);
  const bad = await env.posts.upload({
    project: 'default',
    body: chunked(data, 4096),
    headers: { 'content-type': 'application/octet-stream', 'x-lxd-fingerprint': 'abc' },
    identity,
  });
  const failed = await env.operations.wait(bad.id, 10);
  assert.equal(failed.status_code, StatusCode.Failure);
  assert.equal(failed.err, `fingerprints don't match, got ${fp} expected abc`);

  const op = await env.posts.upload({
    project: 'default',
    body: chunked(data, 4096),
    headers: {
      'content-type': 'application/octet-stream',
      'x-lxd-public': 'true',
      'x-lxd-filename': 'bb.tar.gz',
      'x-lxd-properties': 'os=Other&x.y=a+b%26c',
    },
    identity,
  });
  assert.equal(op.description, 'Downloading image');
  const done = await env.operations.wait(op.id, 10);
  assert.equal(done.status_code, StatusCode.Success, done.err);
  assert.deepEqual(done.metadata, { fingerprint: fp, size: String(data.length) });
  const image = await env.images.get('default', fp, identity);
  assert.equal(image.public, true);
  assert.equal(image.filename, 'bb.tar.gz');
  assert.equal(image.properties['os'], 'Other');
  assert.equal(image.properties['x.y'], 'a b&c');
  assert.deepEqual(readdirSync(env.store.dir).filter((f) => f.startsWith('lxdts_build_')), []);
});

test('uploads of split images through multipart', async () => {
  const meta = splitMetadata();
  const rootfs = splitRootfs();
  const body = multipartBody('b0und', [
    { name: 'metadata', filename: 'meta.tar.gz', data: meta },
    { name: 'rootfs', filename: 'rootfs.tar', data: rootfs },
  ]);
  const op = await env.posts.upload({
    project: 'default',
    body: chunked(body, 100),
    headers: { 'content-type': 'multipart/form-data; boundary=b0und' },
    identity,
  });
  const done = await env.operations.wait(op.id, 10);
  assert.equal(done.status_code, StatusCode.Success, done.err);
  const image = await env.images.get('default', sha256(meta, rootfs), identity);
  assert.equal(image.filename, 'rootfs.tar');
  assert.ok(existsSync(join(env.store.dir, `${image.fingerprint}.rootfs`)));
});

test('edits: PUT replaces, PATCH merges; untrusted callers only see public images', async () => {
  const data = unifiedImage();
  const fp = sha256(data);
  await env.imports.importFromTarball('default', await staged('a', data), { filename: '' });
  const untrusted = { ...identity, transport: 'tls' as const, trusted: false, username: '', address: '127.0.0.1' };
  assert.deepEqual(await env.images.list('default', untrusted), []);
  await assert.rejects(env.images.get('default', fp, untrusted), new RegExp(`Image "${fp}" not found`));

  const etag = env.images.etagOf(await env.images.get('default', fp, identity));
  await env.images.update(
    'default',
    fp,
    { put: { auto_update: false, properties: { a: '1' }, public: true, expires_at: '2030-01-01T00:00:00Z', profiles: [] }, present: null },
    undefined,
    identity,
  );
  let image = await env.images.get('default', fp, untrusted);
  assert.deepEqual([image.properties, image.public, image.expires_at, image.profiles], [{ a: '1' }, true, '2030-01-01T00:00:00Z', []]);
  assert.notDeepEqual(env.images.etagOf(image), etag);

  await env.images.update(
    'default',
    fp,
    { put: { auto_update: false, properties: { b: '2' }, public: false, expires_at: '', profiles: undefined }, present: new Set(['properties']) },
    undefined,
    identity,
  );
  image = await env.images.get('default', fp, identity);
  assert.deepEqual([image.properties, image.public, image.profiles], [{ a: '1', b: '2' }, true, []]);
  await assert.rejects(
    env.images.update('default', fp, { put: { ...image, profiles: ['nope'] }, present: null }, undefined, identity),
    /Profile 'nope' doesn't exist/,
  );
  await assert.rejects(
    env.images.update('default', fp, { put: { ...image, profiles: [] }, present: null }, '"stale"', identity),
    /ETag doesn't match/,
  );
});
