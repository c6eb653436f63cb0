import { Injectable } from '@nestjs/common';
import { object, string, stringMap } from '../http/body-schema.js';
import { checkEtag } from '../http/etag.js';
import type { RequestContext } from '../http/request-context.js';
import { created, emptySync, sync } from '../http/response.js';
import type { Route, RouteProvider } from '../http/route.js';
import { StoragePoolsService, poolUrl } from './storage-pools.service.js';
import { StorageVolumesRoutes } from './storage-volumes.routes.js';

const StoragePoolsPost = object({ name: string, driver: string, config: stringMap, description: string });
const StoragePoolPut = object({ config: stringMap, description: string });

@Injectable()
export class StoragePoolsRoutes implements RouteProvider {
  constructor(
    private readonly pools: StoragePoolsService,
    private readonly volumes: StorageVolumesRoutes,
  ) {}

  routes(): Route[] {
    return [
      {
        path: '/1.0/storage-pools',
        get: {
          access: 'authenticated',
          handler: async (ctx) =>
            sync(ctx.recursion > 0 ? await this.pools.list() : (await this.pools.names()).map(poolUrl)),
        },
        post: {
          access: 'admin',
          handler: async (ctx) => created(await this.pools.create(ctx.body(StoragePoolsPost), ctx.identity)),
        },
      },
      {
        path: '/1.0/storage-pools/:name',
        get: {
          access: 'authenticated',
          handler: async (ctx) => {
            const pool = await this.pools.get(ctx.params['name'] ?? '');
            return sync(pool, { etag: StoragePoolsService.writable(pool) });
          },
        },
        put: { access: 'admin', handler: (ctx) => this.update(ctx, 'replace') },
        patch: { access: 'admin', handler: (ctx) => this.update(ctx, 'merge') },
        delete: {
          access: 'admin',
          handler: async (ctx) => {
            await this.pools.delete(ctx.params['name'] ?? '', ctx.identity);
            return emptySync();
          },
        },
      },
      {
        path: '/1.0/storage-pools/:name/resources',
        get: { access: 'authenticated', handler: async (ctx) => sync(await this.pools.resources(ctx.params['name'] ?? '')) },
      },
      ...this.volumes.routes(),
    ];
  }

  private async update(ctx: RequestContext, mode: 'replace' | 'merge') {
    const name = ctx.params['name'] ?? '';
    const body = ctx.body(StoragePoolPut);
    const json = ctx.json();
    const hasDescription = typeof json === 'object' && json !== null && 'description' in json;
    checkEtag(ctx.ifMatch, StoragePoolsService.writable(await this.pools.get(name)));
    await this.pools.update(name, { ...body, hasDescription }, mode, ctx.identity);
    return emptySync();
  }
}
