// /1.0/network-acls and /1.0/network-acls/{name} (extension network_acl).
import { Injectable } from '@nestjs/common';
import type { NetworkACL, NetworkACLRule } from '@lxdts/api-types';
import { type Decoder, array, object, string, stringMap } from '../http/body-schema.js';
import { checkEtag } from '../http/etag.js';
import type { RequestContext } from '../http/request-context.js';
import { created, emptySync, sync } from '../http/response.js';
import type { Route, RouteProvider } from '../http/route.js';
import { NetworkAclsService } from './network-acls.service.js';

const Rule: Decoder<NetworkACLRule> = object({
  action: string,
  state: string,
  description: string,
  source: string,
  destination: string,
  protocol: string,
  source_port: string,
  destination_port: string,
  icmp_type: string,
  icmp_code: string,
});
const AclPut = object({ description: string, ingress: array(Rule), egress: array(Rule), config: stringMap });
const AclsPost = object({ name: string, description: string, ingress: array(Rule), egress: array(Rule), config: stringMap });
const AclRename = object({ name: string });

const writable = (a: NetworkACL) => ({ description: a.description, ingress: a.ingress, egress: a.egress, config: a.config });

@Injectable()
export class NetworkAclsRoutes implements RouteProvider {
  constructor(private readonly acls: NetworkAclsService) {}

  routes(): Route[] {
    const name = (ctx: RequestContext) => ctx.params['name'] ?? '';
    return [
      {
        path: '/1.0/network-acls',
        get: {
          access: 'project',
          handler: async (ctx) => {
            const all = await this.acls.list(ctx.project);
            return sync(ctx.recursion > 0 ? all : all.map((a) => this.acls.url(ctx.project, a.name)));
          },
        },
        post: { access: 'project', handler: async (ctx) => created(await this.acls.create(ctx.project, ctx.body(AclsPost), ctx.identity)) },
      },
      {
        path: '/1.0/network-acls/:name',
        get: {
          access: 'project',
          handler: async (ctx) => {
            const acl = await this.acls.get(ctx.project, name(ctx));
            return sync(acl, { etag: writable(acl) });
          },
        },
        put: { access: 'project', handler: (ctx) => this.update(ctx, false) },
        patch: { access: 'project', handler: (ctx) => this.update(ctx, true) },
        post: {
          access: 'project',
          handler: async (ctx) => {
            await this.acls.rename(ctx.project, name(ctx), ctx.body(AclRename).name, ctx.identity);
            return emptySync();
          },
        },
        delete: {
          access: 'project',
          handler: async (ctx) => {
            await this.acls.delete(ctx.project, name(ctx), ctx.identity);
            return emptySync();
          },
        },
      },
    ];
  }

  private async update(ctx: RequestContext, patch: boolean) {
    const body = ctx.body(AclPut);
    const json = ctx.json();
    const present = patch ? new Set(typeof json === 'object' && json !== null ? Object.keys(json) : []) : null;
    checkEtag(ctx.ifMatch, writable(await this.acls.get(ctx.project, ctx.params['name'] ?? '')));
    await this.acls.update(ctx.project, ctx.params['name'] ?? '', body, present, ctx.identity);
    return emptySync();
  }
}
