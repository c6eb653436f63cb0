// Instance log files (`lxc info --show-log`, record-output exec files): LXD's rules in instance-logs.service.ts. The
// console (its websocket and `lxc console --show-log`'s GET/DELETE /1.0/instances/{name}/console) lives in console/.
import { Injectable } from '@nestjs/common';
import { emptySync, raw, sync } from '../http/response.js';
import type { Route, RouteProvider } from '../http/route.js';
import { InstanceLogsService } from './instance-logs.service.js';

@Injectable()
export class InstanceLogsRoutes implements RouteProvider {
  constructor(private readonly logs: InstanceLogsService) {}

  routes(): Route[] {
    return ['instances', 'containers'].flatMap((base) => this.table(`/1.0/${base}`));
  }

  private table(base: string): Route[] {
    return [
      {
        path: `${base}/:name/logs`,
        get: { access: 'project', handler: async (ctx) => sync(await this.logs.list(ctx.project, ctx.params['name']!)) },
      },
      {
        path: `${base}/:name/logs/:file`,
        get: {
          access: 'project',
          handler: async (ctx) => {
            const file = ctx.params['file']!;
            const log = await this.logs.open(ctx.project, ctx.params['name']!, file);
            // As LXD's FileResponse.
            const headers = { 'Content-Length': String(log.size), 'Content-Disposition': `inline;filename=${file}` };
            return { ...raw(200, 'application/octet-stream', log.body), headers };
          },
        },
        delete: {
          access: 'project',
          handler: async (ctx) => {
            await this.logs.delete(ctx.project, ctx.params['name']!, ctx.params['file']!);
            return emptySync();
          },
        },
      },
    ];
  }
}
