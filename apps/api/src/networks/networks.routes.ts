import { Injectable } from '@nestjs/common';
import type { Network } from '@lxdts/api-types';
import { object, string, stringMap } from '../http/body-schema.js';
import type { RequestContext } from '../http/request-context.js';
import { apiUrl } from '../projects/api-url.js';
import { checkEtag } from '../http/etag.js';
import { created, emptySync, sync } from '../http/response.js';
import type { Route, RouteProvider } from '../http/route.js';
import { NetworksService } from './networks.service.js';

const NetworksPost = object({ name: string, type: string, config: stringMap, description: string });
const NetworkPut = object({ config: stringMap, description: string });
const NetworkRename = object({ name: string });

const writable = (n: Network) => ({ config: n.config, description: n.description });

@Injectable()
export class NetworksRoutes implements RouteProvider {
  constructor(private readonly networks: NetworksService) {}

  routes(): Route[] {
    const name = (ctx: RequestContext) => ctx.params['name'] ?? '';
    return [
      {
        path: '/1.0/networks',
        get: {
          access: 'project',
          handler: async (ctx) => {
            const all = await this.networks.list(ctx.project);
            return sync(ctx.recursion > 0 ? all : all.map((n) => apiUrl(['networks', n.name])));
          },
        },
        post: { access: 'project', handler: async (ctx) => created(await this.networks.create(ctx.body(NetworksPost), ctx.project, ctx.identity)) },
      },
      {
        path: '/1.0/networks/:name',
        get: {
          access: 'project',
          handler: async (ctx) => {
            const network = await this.networks.get(name(ctx), ctx.project);
            return sync(network, { etag: writable(network) });
          },
        },
        put: { access: 'project', handler: (ctx) => this.update(ctx, 'replace') },
        patch: { access: 'project', handler: (ctx) => this.update(ctx, 'merge') },
        post: {
          access: 'project',
          handler: (ctx) => {
            ctx.body(NetworkRename);
            return this.networks.rename(name(ctx), ctx.project);
          },
        },
        delete: {
          access: 'project',
          handler: async (ctx) => {
            await this.networks.delete(name(ctx), ctx.project, ctx.identity);
            return emptySync();
          },
        },
      },
      {
        path: '/1.0/networks/:name/leases',
        get: { access: 'project', handler: async (ctx) => sync(await this.networks.leases(name(ctx), ctx.project)) },
      },
      {
        path: '/1.0/networks/:name/state',
        get: { access: 'project', handler: (ctx) => sync(this.networks.state(name(ctx))) },
      },
    ];
  }

  private async update(ctx: RequestContext, mode: 'replace' | 'merge') {
    const body = ctx.body(NetworkPut);
    const json = ctx.json();
    const hasDescription = typeof json === 'object' && json !== null && 'description' in json;
    checkEtag(ctx.ifMatch, writable(await this.networks.get(ctx.params['name'] ?? '', ctx.project)));
    await this.networks.update(ctx.params['name'] ?? '', ctx.project, body, mode, hasDescription, ctx.identity);
    return emptySync();
  }
}
