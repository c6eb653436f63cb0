// /1.0/instances/{name}/snapshots and /1.0/instances/{name}/snapshots/{snapshot} (+ the /1.0/containers alias).
// Restoring is PUT /1.0/instances/{name} with `restore` (instances.routes.ts).
import { Injectable } from '@nestjs/common';
import { boolean, object, string } from '../http/body-schema.js';
import { badRequest } from '../http/api-error.js';
import { async, emptySync, sync } from '../http/response.js';
import type { Route, RouteProvider } from '../http/route.js';
import { InstanceSnapshotsService } from './instance-snapshots.service.js';

const SnapshotsPost = object({ name: string, stateful: boolean, expires_at: string });
const SnapshotPost = object({ name: string, migration: boolean, live: boolean });
const SnapshotPut = object({ expires_at: string });

@Injectable()
export class InstanceSnapshotsRoutes implements RouteProvider {
  constructor(private readonly snapshots: InstanceSnapshotsService) {}

  routes(): Route[] {
    return ['instances', 'containers'].flatMap((base) => this.table(`/1.0/${base}`));
  }

  private table(base: string): Route[] {
    return [
      {
        path: `${base}/:name/snapshots`,
        get: { access: 'project', handler: async (ctx) => sync(await this.snapshots.list(ctx.project, ctx.params['name']!, ctx.recursion)) },
        post: {
          access: 'project',
          handler: async (ctx) => async(await this.snapshots.create(ctx.project, ctx.params['name']!, ctx.body(SnapshotsPost), ctx.identity)),
        },
      },
      {
        path: `${base}/:name/snapshots/:snapshot`,
        get: { access: 'project', handler: async (ctx) => sync(await this.snapshots.get(ctx.project, ctx.params['name']!, ctx.params['snapshot']!)) },
        post: {
          access: 'project',
          handler: async (ctx) => {
            const body = ctx.body(SnapshotPost);
            if (body.migration) throw badRequest('Snapshot migration is not supported yet');
            return async(await this.snapshots.rename(ctx.project, ctx.params['name']!, ctx.params['snapshot']!, body.name, ctx.identity));
          },
        },
        put: { access: 'project', handler: (ctx) => this.update(ctx.project, ctx.params['name']!, ctx.params['snapshot']!, ctx) },
        patch: { access: 'project', handler: (ctx) => this.update(ctx.project, ctx.params['name']!, ctx.params['snapshot']!, ctx) },
        delete: {
          access: 'project',
          handler: async (ctx) => async(await this.snapshots.delete(ctx.project, ctx.params['name']!, ctx.params['snapshot']!, ctx.identity)),
        },
      },
    ];
  }

  private async update(project: string, name: string, snapshot: string, ctx: Parameters<NonNullable<Route['put']>['handler']>[0]) {
    await this.snapshots.setExpiry(project, name, snapshot, ctx.body(SnapshotPut).expires_at, ctx.identity);
    return emptySync();
  }
}
