// Storage endpoints for copies, snapshots and publishing: POST /storage/:driver/volume/copy, /volume/export-image and
// /snapshot/{create,delete,rename,restore}.
import type { AgentImageCompression } from '@lxdts/api-types';
import { badRequest, notFound } from '../errors.js';
import { type Json, asObject, int, str, stringArray, stringMap, volumeRef } from '../server/body.js';
import type { AgentRoute } from '../server/http-server.js';
import type { StorageDriver } from './storage-driver.js';

/** An id shift ({uid, gid, range}, all positive) under `key`, as `{ [key]: shift }`, or nothing. */
function shiftOf<K extends string>(o: Json, key: K): { [P in K]?: { uid: number; gid: number; range: number } } {
  if (o[key] === undefined || o[key] === null) return {};
  const v = asObject(o[key], `"${key}"`);
  const shift = { uid: int(v, 'uid'), gid: int(v, 'gid'), range: int(v, 'range') };
  if (shift.uid < 1 || shift.gid < 1 || shift.range < 1) throw badRequest(`"${key}" ids and range must be positive`);
  return { [key]: shift } as { [P in K]?: { uid: number; gid: number; range: number } };
}

export function storagePublishRoutes(storage: Readonly<Record<string, StorageDriver>>): AgentRoute[] {
  const driver = (name: string | undefined): StorageDriver => {
    const d = name && Object.hasOwn(storage, name) ? storage[name] : undefined;
    if (!d) throw notFound(`Unknown storage driver "${name}"`);
    return d;
  };
  return [
    {
      method: 'POST',
      path: '/storage/:driver/volume/copy',
      handler: async ({ params, body }) => {
        const o = asObject(body ?? {});
        const snapshots = o['snapshots'] === undefined ? undefined : stringArray(o, 'snapshots');
        const sourceSnapshot = str(o, 'sourceSnapshot', true);
        return driver(params['driver']).copyVolume({
          volume: volumeRef(o, 'volume'),
          source: volumeRef(o, 'source'),
          ...(sourceSnapshot ? { sourceSnapshot } : {}),
          ...(snapshots ? { snapshots } : {}),
        });
      },
    },
    ...(['create', 'delete', 'restore'] as const).map(
      (action): AgentRoute => ({
        method: 'POST',
        path: `/storage/:driver/snapshot/${action}`,
        handler: async ({ params, body }) => {
          const o = asObject(body ?? {});
          const req = { volume: volumeRef(o, 'volume'), snapshot: str(o, 'snapshot') };
          const d = driver(params['driver']);
          await (action === 'create' ? d.createSnapshot(req) : action === 'delete' ? d.deleteSnapshot(req) : d.restoreSnapshot(req));
        },
      }),
    ),
    {
      method: 'POST',
      path: '/storage/:driver/backup/export',
      handler: async ({ params, body }) => {
        const o = asObject(body ?? {});
        await driver(params['driver']).exportBackup({
          volume: volumeRef(o, 'volume'),
          snapshots: stringArray(o, 'snapshots'),
          indexYaml: str(o, 'indexYaml'),
          backupYaml: str(o, 'backupYaml'),
          targetFile: str(o, 'targetFile'),
          compression: str(o, 'compression'),
          ...shiftOf(o, 'shift'),
          ...(o['optimized'] === true ? { optimized: true } : {}),
        });
      },
    },
    {
      method: 'POST',
      path: '/storage/:driver/backup/import',
      handler: async ({ params, body }) => {
        const o = asObject(body ?? {});
        await driver(params['driver']).importBackup({
          volume: volumeRef(o, 'volume'),
          snapshots: stringArray(o, 'snapshots'),
          file: str(o, 'file'),
          ...shiftOf(o, 'unshift'),
          ...(o['optimized'] === true ? { optimized: true } : {}),
        });
      },
    },
    {
      method: 'POST',
      path: '/storage/:driver/volume/refresh',
      handler: async ({ params, body }) => {
        const o = asObject(body ?? {});
        return driver(params['driver']).refreshVolume({ volume: volumeRef(o, 'volume'), source: volumeRef(o, 'source'), snapshots: stringArray(o, 'snapshots') });
      },
    },
    {
      method: 'POST',
      path: '/storage/:driver/volume/usage',
      handler: async ({ params, body }) => driver(params['driver']).volumeUsage(volumeRef(asObject(body ?? {}), 'volume')),
    },
    {
      method: 'POST',
      path: '/storage/:driver/volume/quota',
      handler: async ({ params, body }) => {
        const o = asObject(body ?? {});
        await driver(params['driver']).setQuota({ volume: volumeRef(o, 'volume'), size: int(o, 'size') });
      },
    },
    {
      method: 'POST',
      path: '/storage/:driver/snapshot/rename',
      handler: async ({ params, body }) => {
        const o = asObject(body ?? {});
        await driver(params['driver']).renameSnapshot({ volume: volumeRef(o, 'volume'), snapshot: str(o, 'snapshot'), newName: str(o, 'newName') });
      },
    },
    {
      method: 'POST',
      path: '/storage/:driver/volume/export-image',
      handler: async ({ params, body }) => {
        const o = asObject(body ?? {});
        const props = o['properties'];
        if (props !== null && props !== undefined) asObject(props, '"properties"');
        const creationDate = int(o, 'creationDate');
        if (creationDate <= 0) throw badRequest('"creationDate" must be positive');
        return driver(params['driver']).exportImage({
          volume: volumeRef(o, 'volume'),
          targetFile: str(o, 'targetFile'),
          compression: str(o, 'compression') as AgentImageCompression,
          architecture: str(o, 'architecture'),
          creationDate,
          expiryDate: int(o, 'expiryDate', 0),
          properties: props === null || props === undefined ? null : stringMap(o, 'properties'),
        });
      },
    },
  ];
}
