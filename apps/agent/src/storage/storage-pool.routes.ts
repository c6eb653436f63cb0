// Pool endpoints: the dir layout (dir-pool.ts) and the btrfs file system (btrfs-pool.ts).
//   POST /storage/dir/pool/{create,undo-create,delete,resources}
//   POST /storage/btrfs/pool/{create,mount,delete,resources}
import type { AgentBtrfsPoolRequest } from '@lxdts/api-types';
import type { ProcessRunner } from '../process/run.js';
import { type Json, asObject, int, str, stringArray } from '../server/body.js';
import type { AgentRoute } from '../server/http-server.js';
import { btrfsPoolResources, createBtrfsPool, deleteBtrfsPool, mountBtrfsPool } from './btrfs-pool.js';
import { createDirPool, deleteDirPool, dirPoolResources, undoCreateDirPool } from './dir-pool.js';

function btrfsPoolRequest(o: Json): AgentBtrfsPoolRequest {
  const mountOptions = str(o, 'mountOptions', true);
  const owned = str(o, 'owned', true);
  return { mountPoint: str(o, 'mountPoint'), source: str(o, 'source'), ...(mountOptions !== undefined ? { mountOptions } : {}), ...(owned ? { owned } : {}) };
}

export function storagePoolRoutes(runner: ProcessRunner): AgentRoute[] {
  const body = (b: unknown) => asObject(b ?? {});
  return [
    { method: 'POST', path: '/storage/dir/pool/create', handler: async ({ body: b }) => createDirPool(str(body(b), 'source')) },
    {
      method: 'POST',
      path: '/storage/dir/pool/undo-create',
      handler: async ({ body: b }) => {
        const created = asObject(body(b)['created'], '"created"');
        const createdRoot = created['createdRoot'] === null ? null : (str(created, 'createdRoot', true) ?? null);
        undoCreateDirPool({ createdRoot, createdSubdirs: stringArray(created, 'createdSubdirs') });
      },
    },
    {
      method: 'POST',
      path: '/storage/dir/pool/delete',
      handler: async ({ body: b }) => {
        const o = body(b);
        deleteDirPool(str(o, 'source'), str(o, 'ownedRoot', true));
      },
    },
    { method: 'POST', path: '/storage/dir/pool/resources', handler: async ({ body: b }) => dirPoolResources(str(body(b), 'source')) },
    {
      method: 'POST',
      path: '/storage/btrfs/pool/create',
      handler: async ({ body: b }) => {
        const o = body(b);
        const [loopFile, source, mountOptions] = [str(o, 'loopFile', true), str(o, 'source', true), str(o, 'mountOptions', true)];
        return createBtrfsPool(runner, {
          mountPoint: str(o, 'mountPoint'),
          ...(loopFile ? { loopFile } : {}),
          ...(o['size'] !== undefined ? { size: int(o, 'size') } : {}),
          ...(source ? { source } : {}),
          ...(mountOptions !== undefined ? { mountOptions } : {}),
        });
      },
    },
    { method: 'POST', path: '/storage/btrfs/pool/mount', handler: async ({ body: b }) => mountBtrfsPool(runner, btrfsPoolRequest(body(b))) },
    { method: 'POST', path: '/storage/btrfs/pool/delete', handler: async ({ body: b }) => deleteBtrfsPool(runner, btrfsPoolRequest(body(b))) },
    { method: 'POST', path: '/storage/btrfs/pool/resources', handler: async ({ body: b }) => btrfsPoolResources(str(body(b), 'mountPoint')) },
  ];
}
