// /1.0/instances/{name}/backups, …/backups/{backup} and …/backups/{backup}/export (+ the /1.0/containers alias).
// Importing (`lxc import`) is POST /1.0/instances with the tarball as an application/octet-stream body.
import { Injectable } from '@nestjs/common';
import { boolean, object, string } from '../http/body-schema.js';
import { async, raw, sync } from '../http/response.js';
import type { Route, RouteProvider } from '../http/route.js';
import { InstanceBackupsService } from './instance-backups.service.js';

const BackupsPost = object({
  name: string,
  expires_at: string,
  instance_only: boolean,
  container_only: boolean,
  optimized_storage: boolean,
  compression_algorithm: string,
});
const BackupPost = object({ name: string });

@Injectable()
export class InstanceBackupsRoutes implements RouteProvider {
  constructor(private readonly backups: InstanceBackupsService) {}

  routes(): Route[] {
    return ['instances', 'containers'].flatMap((base) => this.table(`/1.0/${base}`));
  }

  private table(base: string): Route[] {
    return [
      {
        path: `${base}/:name/backups`,
        get: { access: 'project', handler: async (ctx) => sync(await this.backups.list(ctx.project, ctx.params['name']!, ctx.recursion)) },
        post: {
          access: 'project',
          handler: async (ctx) => async(await this.backups.create(ctx.project, ctx.params['name']!, ctx.body(BackupsPost), ctx.identity)),
        },
      },
      {
        path: `${base}/:name/backups/:backup`,
        get: { access: 'project', handler: async (ctx) => sync(await this.backups.get(ctx.project, ctx.params['name']!, ctx.params['backup']!)) },
        post: {
          access: 'project',
          handler: async (ctx) =>
            async(await this.backups.rename(ctx.project, ctx.params['name']!, ctx.params['backup']!, ctx.body(BackupPost).name, ctx.identity)),
        },
        delete: {
          access: 'project',
          handler: async (ctx) => async(await this.backups.delete(ctx.project, ctx.params['name']!, ctx.params['backup']!, ctx.identity)),
        },
      },
      {
        path: `${base}/:name/backups/:backup/export`,
        get: {
          access: 'project',
          handler: async (ctx) => {
            const file = await this.backups.open(ctx.project, ctx.params['name']!, ctx.params['backup']!);
            return { ...raw(200, 'application/octet-stream', file.body), headers: { 'Content-Length': String(file.size) } };
          },
        },
      },
    ];
  }
}
