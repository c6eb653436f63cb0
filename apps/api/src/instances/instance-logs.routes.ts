// Instance log files (`lxc info --show-log`). The console (its websocket and `lxc console --show-log`'s
// GET/DELETE /1.0/instances/{name}/console) lives in console/.
import { Injectable } from '@nestjs/common';
import { badRequest, notFound } from '../http/api-error.js';
import { emptySync, raw, sync } from '../http/response.js';
import type { Route, RouteProvider } from '../http/route.js';
import { lxcNameOf } from './instance-expansion.js';
import { InstancesService } from './instances.service.js';

const LOG_FILES = ['lxc.log', 'lxc.log.old', 'console.log', 'console.log.old'];

@Injectable()
export class InstanceLogsRoutes implements RouteProvider {
  constructor(private readonly instances: InstancesService) {}

  routes(): Route[] {
    return ['instances', 'containers'].flatMap((base) => this.table(`/1.0/${base}`));
  }

  private lxcName = async (project: string, name: string) => {
    const row = await this.instances.find(project, name);
    return lxcNameOf(row.project, row.name);
  };

  private table(base: string): Route[] {
    return [
      {
        path: `${base}/:name/logs`,
        get: {
          access: 'project',
          handler: async (ctx) => {
            const lxcName = await this.lxcName(ctx.project, ctx.params['name']!);
            const present: string[] = [];
            for (const f of LOG_FILES) if ((await this.instances.agent.readLog(lxcName, f)) !== '' || f === 'lxc.log') present.push(f);
            return sync(present.map((f) => `${this.instances.url(ctx.project, ctx.params['name']!).replace(/\?.*$/, '')}/logs/${f}`));
          },
        },
      },
      {
        path: `${base}/:name/logs/:file`,
        get: {
          access: 'project',
          handler: async (ctx) => {
            const file = ctx.params['file']!;
            if (!LOG_FILES.includes(file)) throw notFound('Log file not found');
            const content = await this.instances.agent.readLog(await this.lxcName(ctx.project, ctx.params['name']!), file);
            return raw(200, 'application/octet-stream', content);
          },
        },
        delete: {
          access: 'project',
          handler: async (ctx) => {
            const file = ctx.params['file']!;
            if (!LOG_FILES.includes(file)) throw notFound('Log file not found');
            if (file === 'lxc.log') throw badRequest('Only log files excluding qemu.log and lxc.log may be deleted');
            await this.instances.agent.clearLog(await this.lxcName(ctx.project, ctx.params['name']!), file);
            return emptySync();
          },
        },
      },
    ];
  }
}
