// Console endpoints: POST (attach: a websocket operation), GET (the console log) and DELETE (clear it) on
// /1.0/instances/{name}/console and the legacy /1.0/containers/{name}/console.
import { Injectable } from '@nestjs/common';
import { badRequest } from '../http/api-error.js';
import type { RequestContext } from '../http/request-context.js';
import { async, emptySync, raw } from '../http/response.js';
import type { Route, RouteProvider } from '../http/route.js';
import { decodeConsolePost } from './console-request.js';
import { ConsoleService } from './console.service.js';

/** The instance name; a snapshot's (`c/snap`) is refused first, as LXD does. */
function instanceName(ctx: RequestContext): string {
  const name = ctx.params['name']!;
  if (name.includes('/')) throw badRequest('Invalid instance name');
  return name;
}

@Injectable()
export class ConsoleRoutes implements RouteProvider {
  constructor(private readonly consoles: ConsoleService) {}

  routes(): Route[] {
    return ['instances', 'containers'].map((base) => ({
      path: `/1.0/${base}/:name/console`,
      post: {
        access: 'project',
        handler: async (ctx) => {
          const name = instanceName(ctx);
          return async(await this.consoles.console(ctx.project, name, decodeConsolePost(ctx.rawBody)));
        },
      },
      get: {
        access: 'project',
        handler: async (ctx) => raw(200, 'application/octet-stream', await this.consoles.log(ctx.project, instanceName(ctx))),
      },
      delete: {
        access: 'project',
        handler: async (ctx) => {
          await this.consoles.clearLog(ctx.project, instanceName(ctx));
          return emptySync();
        },
      },
    }));
  }
}
