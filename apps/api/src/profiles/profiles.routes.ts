import { Injectable } from '@nestjs/common';
import { object, record, string, stringMap } from '../http/body-schema.js';
import { created, emptySync, sync } from '../http/response.js';
import type { RequestContext } from '../http/request-context.js';
import type { Route, RouteProvider } from '../http/route.js';
import { profileEtag, ProfilesService } from './profiles.service.js';

const devices = record(stringMap);
const ProfilesPost = object({ name: string, description: string, config: stringMap, devices });
const ProfilePut = object({ config: stringMap, description: string, devices });
const ProfilePost = object({ name: string });

@Injectable()
export class ProfilesRoutes implements RouteProvider {
  constructor(private readonly profiles: ProfilesService) {}

  routes(): Route[] {
    return [
      {
        path: '/1.0/profiles',
        get: { access: 'project', handler: async (ctx) => sync(await this.profiles.list(ctx.project, ctx.identity, ctx.recursion)) },
        post: {
          access: 'project',
          handler: async (ctx) => created(await this.profiles.create(ctx.project, ctx.body(ProfilesPost), ctx.identity)),
        },
      },
      {
        path: '/1.0/profiles/:name',
        get: {
          access: 'project',
          handler: async (ctx) => {
            const profile = await this.profiles.get(ctx.project, ctx.params['name']!, ctx.identity);
            return sync(profile, { etag: profileEtag(profile) });
          },
        },
        put: { access: 'project', handler: (ctx) => this.update(ctx, false) },
        patch: { access: 'project', handler: (ctx) => this.update(ctx, true) },
        post: {
          access: 'project',
          handler: async (ctx) =>
            created(await this.profiles.rename(ctx.project, ctx.params['name']!, ctx.body(ProfilePost).name, ctx.identity)),
        },
        delete: {
          access: 'project',
          handler: async (ctx) => {
            await this.profiles.delete(ctx.project, ctx.params['name']!, ctx.identity);
            return emptySync();
          },
        },
      },
    ];
  }

  private async update(ctx: RequestContext, patch: boolean) {
    const body = ctx.body(ProfilePut);
    const raw = ctx.json();
    const fields = raw && typeof raw === 'object' && !Array.isArray(raw) ? (raw as Record<string, unknown>) : {};
    // PATCH keeps what the body leaves out; null config or devices count as left out, as in LXD.
    const presence = patch
      ? { description: typeof fields['description'] === 'string', config: fields['config'] != null, devices: fields['devices'] != null }
      : null;
    await this.profiles.update(ctx.project, ctx.params['name']!, body, presence, ctx.ifMatch, ctx.identity);
    return emptySync();
  }
}
