import { Injectable } from '@nestjs/common';
import type { Network } from '@lxdts/api-types';
import { object, string, stringMap } from '../http/body-schema.js';
import type { RequestContext } from '../http/request-context.js';
import { apiUrl } from '../projects/api-url.js';
import { sync } from '../http/response.js';
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
        post: { access: 'project', handler: (ctx) => this.networks.create(ctx.body(NetworksPost), ctx.project) },
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
        put: {
          access: 'project',
          handler: (ctx) => {
            ctx.body(NetworkPut);
            return this.networks.refuseChange(name(ctx), ctx.project);
          },
        },
        patch: {
          access: 'project',
          handler: (ctx) => {
            ctx.body(NetworkPut);
            return this.networks.refuseChange(name(ctx), ctx.project);
          },
        },
        post: {
          access: 'project',
          handler: (ctx) => {
            ctx.body(NetworkRename);
            return this.networks.refuseChange(name(ctx), ctx.project);
          },
        },
        delete: { access: 'project', handler: (ctx) => this.networks.refuseChange(name(ctx), ctx.project) },
      },
      {
        path: '/1.0/networks/:name/state',
        get: { access: 'project', handler: (ctx) => sync(this.networks.state(name(ctx))) },
      },
    ];
  }
}
