// `lxdts init --auto | --preseed | --dump`: configures a fresh daemon through its own API, as `lxd init`.
import { readFileSync } from 'node:fs';
import { parse, stringify } from 'yaml';
import type { LocalClient } from './local-client.js';
import { type ClusterPreseed, applyClusterPreseed } from './init-cluster.js';

interface Named {
  name: string;
  [key: string]: unknown;
}

/** LXD's preseed document (api.InitPreseed). */
export interface Preseed {
  config?: Record<string, string>;
  networks?: Named[];
  storage_pools?: Named[];
  profiles?: Named[];
  projects?: Named[];
  cluster?: unknown;
}

export async function runInit(client: LocalClient, flags: Record<string, string | boolean>): Promise<number> {
  if (flags['dump']) {
    process.stdout.write(stringify(await dump(client)));
    return 0;
  }
  let preseed: Preseed;
  if (flags['preseed']) {
    const text = readFileSync(0, 'utf8');
    const doc: unknown = parse(text);
    if (doc !== null && (typeof doc !== 'object' || Array.isArray(doc))) throw new Error('Invalid preseed YAML: not a mapping');
    preseed = (doc ?? {}) as Preseed;
  } else if (flags['auto']) {
    preseed = await autoPreseed(client, flags);
  } else {
    process.stderr.write('Error: interactive init is not supported; use --auto or --preseed\n');
    return 1;
  }
  await applyPreseed(client, preseed);
  return 0;
}

async function autoPreseed(client: LocalClient, flags: Record<string, string | boolean>): Promise<Preseed> {
  const preseed: Preseed = { config: {}, storage_pools: [], profiles: [] };
  const address = flags['network-address'];
  if (typeof address === 'string' && address !== '') {
    const port = typeof flags['network-port'] === 'string' ? flags['network-port'] : '8443';
    preseed.config!['core.https_address'] = address.includes(':') && !address.startsWith('[') ? `[${address}]:${port}` : `${address}:${port}`;
  }
  if (typeof flags['trust-password'] === 'string') preseed.config!['core.trust_password'] = flags['trust-password'];
  const pools = await client.sync<string[]>('GET', '/1.0/storage-pools');
  if (pools.length === 0) {
    const backend = typeof flags['storage-backend'] === 'string' ? flags['storage-backend'] : 'dir';
    const config: Record<string, string> = {};
    if (typeof flags['storage-pool'] === 'string') config['source'] = flags['storage-pool'];
    // lxd init's loop size in GiB (btrfs).
    if (typeof flags['storage-create-loop'] === 'string') config['size'] = `${flags['storage-create-loop']}GiB`;
    preseed.storage_pools!.push({ name: 'default', driver: backend, config, description: '' });
    const profile = await client.sync<{ devices: Record<string, Record<string, string>> }>('GET', '/1.0/profiles/default');
    if (!profile.devices['root']) {
      preseed.profiles!.push({ name: 'default', devices: { ...profile.devices, root: { path: '/', pool: 'default', type: 'disk' } } });
    }
  }
  return preseed;
}

/** Applies a preseed; on failure, undoes what it created and restores what it changed. */
export async function applyPreseed(client: LocalClient, p: Preseed): Promise<void> {
  const cluster = p.cluster as ClusterPreseed | undefined;
  if (cluster !== undefined && (typeof cluster !== 'object' || cluster === null || Array.isArray(cluster))) throw new Error('Invalid preseed: cluster must be a mapping');
  const undo: (() => Promise<unknown>)[] = [];
  try {
    if (p.config && Object.keys(p.config).length) {
      const before = (await client.sync<{ config: Record<string, string> }>('GET', '/1.0')).config;
      await client.sync('PATCH', '/1.0', { config: stringValues(p.config) });
      const reset = Object.fromEntries(Object.keys(p.config).map((k) => [k, before[k] ?? '']));
      undo.push(() => client.sync('PATCH', '/1.0', { config: reset }));
    }
    for (const pool of p.storage_pools ?? []) await upsert(client, '/1.0/storage-pools', pool, undo);
    for (const net of p.networks ?? []) await upsert(client, '/1.0/networks', net, undo);
    for (const project of p.projects ?? []) await upsert(client, '/1.0/projects', project, undo);
    for (const profile of p.profiles ?? []) await upsert(client, '/1.0/profiles', profile, undo);
    if (cluster) await applyClusterPreseed(client, cluster);
  } catch (err) {
    for (const fn of undo.reverse()) await fn().catch(() => undefined);
    throw err;
  }
}

async function upsert(client: LocalClient, base: string, obj: Named, undo: (() => Promise<unknown>)[]): Promise<void> {
  if (!obj || typeof obj.name !== 'string' || obj.name === '') throw new Error(`Invalid preseed entry under ${base}: missing name`);
  const url = `${base}/${encodeURIComponent(obj.name)}`;
  const { status, envelope } = await client.call<Record<string, unknown>>('GET', url);
  const body = { ...obj, ...(obj['config'] ? { config: stringValues(obj['config'] as Record<string, unknown>) } : {}) };
  if (status === 200 && envelope.type === 'sync') {
    const before = envelope.metadata;
    const { name: _n, ...put } = body;
    await client.sync('PUT', url, { ...pick(before, ['config', 'description', 'devices']), ...put });
    undo.push(() => client.sync('PUT', url, pick(before, ['config', 'description', 'devices'])));
  } else {
    await client.sync('POST', base, body);
    undo.push(() => client.sync('DELETE', url));
  }
}

async function dump(client: LocalClient): Promise<Preseed> {
  const server = await client.sync<{ config: Record<string, string> }>('GET', '/1.0');
  const list = (url: string) => client.sync<Named[]>('GET', `${url}?recursion=1`);
  const strip = (items: Named[], keys: string[]) => items.map((i) => pick(i, ['name', ...keys]) as Named);
  return {
    config: server.config,
    networks: strip((await list('/1.0/networks')).filter((n) => n['managed']), ['description', 'type', 'config']),
    storage_pools: strip(await list('/1.0/storage-pools'), ['description', 'driver', 'config']),
    profiles: strip(await list('/1.0/profiles'), ['description', 'config', 'devices']),
    projects: strip(await list('/1.0/projects'), ['description', 'config']),
  };
}

/** YAML may give numbers or booleans for config values; the API wants strings. */
function stringValues(config: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(Object.entries(config).map(([k, v]) => [k, v === null ? '' : String(v)]));
}

function pick(obj: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  return Object.fromEntries(keys.filter((k) => k in obj).map((k) => [k, obj[k]]));
}
