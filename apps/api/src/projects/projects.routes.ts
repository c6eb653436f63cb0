import { Injectable } from '@nestjs/common';
import { object, string, stringMap } from '../http/body-schema.js';
import { async, created, emptySync, sync } from '../http/response.js';
import type { RequestContext } from '../http/request-context.js';
import type { Route, RouteProvider } from '../http/route.js';
import { projectEtag, ProjectsService } from './projects.service.js';

const ProjectsPost = object({ name: string, description: string, config: stringMap });
const ProjectPut = object({ config: stringMap, description: string });
const ProjectPost = object({ name: string });

@Injectable()
export class ProjectsRoutes implements RouteProvider {
  constructor(private readonly projects: ProjectsService) {}

  routes(): Route[] {
    return [
      {
        path: '/1.0/projects',
        get: { access: 'authenticated', handler: async (ctx) => sync(await this.projects.list(ctx.identity, ctx.recursion)) },
        post: {
          access: 'admin',
          handler: async (ctx) => created(await this.projects.create(ctx.body(ProjectsPost), ctx.identity)),
        },
      },
      {
        path: '/1.0/projects/:name',
        get: {
          access: 'authenticated',
          handler: async (ctx) => {
            const project = await this.projects.get(ctx.params['name']!, ctx.identity);
            return sync(project, { etag: projectEtag(project) });
          },
        },
        put: { access: 'admin', handler: (ctx) => this.update(ctx, false) },
        patch: { access: 'admin', handler: (ctx) => this.update(ctx, true) },
        post: {
          access: 'admin',
          handler: async (ctx) => async(await this.projects.rename(ctx.params['name']!, ctx.body(ProjectPost).name, ctx.identity)),
        },
        delete: {
          access: 'admin',
          handler: async (ctx) => {
            await this.projects.delete(ctx.params['name']!, ctx.identity);
            return emptySync();
          },
        },
      },
      {
        path: '/1.0/projects/:name/state',
        get: { access: 'authenticated', handler: async (ctx) => sync(await this.projects.state(ctx.params['name']!, ctx.identity)) },
      },
    ];
  }

  private async update(ctx: RequestContext, patch: boolean) {
    const body = ctx.body(ProjectPut);
    const raw = ctx.json();
    const fields = raw && typeof raw === 'object' && !Array.isArray(raw) ? (raw as Record<string, unknown>) : {};
    // PATCH keeps what the body leaves out; a null config counts as left out, as in LXD.
    const presence = patch ? { description: typeof fields['description'] === 'string', config: fields['config'] != null } : null;
    await this.projects.update(ctx.params['name']!, body, presence, ctx.ifMatch, ctx.identity);
    return emptySync();
  }
}
