import { Injectable } from '@nestjs/common';
import type { StorageVolume } from '@lxdts/api-types';
import type { RequestContext } from '../http/request-context.js';
import { sync } from '../http/response.js';
import type { Route, RouteProvider } from '../http/route.js';
import { StorageVolumesService } from './storage-volumes.service.js';

const writable = (v: StorageVolume) => ({ config: v.config, description: v.description });

/** Read-only volume routes; listed by StoragePoolsRoutes. */
@Injectable()
export class StorageVolumesRoutes implements RouteProvider {
  constructor(private readonly volumes: StorageVolumesService) {}

  routes(): Route[] {
    const list = async (ctx: RequestContext) => {
      const listed = await this.volumes.list({
        pool: ctx.params['name'] ?? '',
        ...(ctx.allProjects ? {} : { project: ctx.project }),
        ...(ctx.params['type'] !== undefined ? { type: ctx.params['type'] } : {}),
      });
      return sync(ctx.recursion > 0 ? listed.map((v) => v.volume) : listed.map((v) => v.url));
    };
    return [
      { path: '/1.0/storage-pools/:name/volumes', get: { access: 'project', handler: list } },
      { path: '/1.0/storage-pools/:name/volumes/:type', get: { access: 'project', handler: list } },
      {
        path: '/1.0/storage-pools/:name/volumes/:type/:volume',
        get: {
          access: 'project',
          handler: async (ctx) => {
            const volume = await this.volumes.get({
              pool: ctx.params['name'] ?? '',
              project: ctx.project,
              type: ctx.params['type'] ?? '',
              name: ctx.params['volume'] ?? '',
            });
            return sync(volume, { etag: writable(volume) });
          },
        },
      },
    ];
  }
}
