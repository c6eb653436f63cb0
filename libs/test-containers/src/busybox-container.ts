// One running busybox container made through an agent's HTTP socket (the agent in-process or spawned as the daemon
// does): the image unpacked into a dir pool, a volume from it, an unprivileged start with the agent's default idmap.
// `remove` undoes all of it; containers outlive their agent, so a left-over one is stopped with lxc-stop.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import type { AgentInstanceSpec, AgentReady, AgentVolumeCreateResult } from '@lxdts/api-types';
import { buildBusyboxImage } from './busybox-image.js';

/** One JSON request to the agent; a status other than 200 rejects with the agent's answer. */
export function agentRequest<T>(socketPath: string, method: string, path: string, body?: unknown): Promise<T> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = request({ socketPath, method, path, headers: data ? { 'Content-Type': 'application/json' } : {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        if (res.statusCode !== 200) reject(new Error(`${method} ${path}: ${res.statusCode} ${text}`));
        else resolve((text ? JSON.parse(text) : null) as T);
      });
    });
    req.on('error', reject);
    req.end(data);
  });
}

export interface BusyboxContainerOptions {
  /** The agent's socket. */
  socketPath: string;
  /** A scratch directory of the test (the image is built there, the pool is `<workDir>/pool`). */
  workDir: string;
  /** The agent's lxcpath (`<var dir>/containers`), for the last-resort lxc-stop in `remove`. */
  lxcpath: string;
  name: string;
  /** Instance config of the spec (default none). */
  config?: Record<string, string>;
}

export interface BusyboxContainer {
  name: string;
  rootfsPath: string;
  ready: AgentReady;
  /** Stops and deletes the container and its volume (errors ignored: a test cleaning up after a failure). */
  remove(): Promise<void>;
}

export async function startBusyboxContainer(o: BusyboxContainerOptions): Promise<BusyboxContainer> {
  const { socketPath, name } = o;
  const poolSource = join(o.workDir, 'pool');
  mkdirSync(poolSource, { recursive: true });
  const ready = await agentRequest<AgentReady>(socketPath, 'GET', '/ready');
  const fingerprint = randomBytes(32).toString('hex');
  await agentRequest(socketPath, 'POST', '/storage/dir/image/unpack', { poolSource, fingerprint, imageFile: buildBusyboxImage(o.workDir) });
  const volume = { poolSource, type: 'containers', name };
  const vol = await agentRequest<AgentVolumeCreateResult>(socketPath, 'POST', '/storage/dir/volume/create', { volume, fromImage: { fingerprint } });
  const spec: AgentInstanceSpec = {
    name,
    project: 'default',
    lxcName: name,
    rootfsPath: vol.rootfsPath,
    architecture: 'x86_64',
    config: o.config ?? {},
    devices: { root: { type: 'disk', path: '/', pool: 'default' } },
    idmap: ready.defaultIdmap,
  };
  const remove = async () => {
    const quietly = (p: Promise<unknown>) => p.catch(() => undefined);
    await quietly(agentRequest(socketPath, 'POST', `/instances/${name}/stop`, { force: true, timeoutSec: -1 }));
    await quietly(agentRequest(socketPath, 'POST', `/instances/${name}/delete`, { volume }));
    if (existsSync(join(o.lxcpath, name))) spawnSync('lxc-stop', ['-P', o.lxcpath, '-n', name, '-k']);
  };
  try {
    await agentRequest(socketPath, 'POST', `/instances/${name}/start`, { spec });
  } catch (err) {
    await remove();
    throw err;
  }
  return { name, rootfsPath: vol.rootfsPath, ready, remove };
}
