import { Injectable } from '@nestjs/common';
import { object, stringMap } from '../http/body-schema.js';
import { checkEtag } from '../http/etag.js';
import { emptySync, raw, sync } from '../http/response.js';
import type { RequestContext } from '../http/request-context.js';
import type { Route, RouteProvider } from '../http/route.js';
import { EventsService } from '../events/events.service.js';
import { ServerConfigService } from './server-config.service.js';
import { ServerInfoService } from './server-info.service.js';

const ServerPut = object({ config: stringMap });

@Injectable()
export class ServerRoutes implements RouteProvider {
  constructor(
    private readonly info: ServerInfoService,
    private readonly config: ServerConfigService,
    private readonly events: EventsService,
  ) {}

  routes(): Route[] {
    return [
      { path: '/', get: { access: 'untrusted', handler: () => sync(['/1.0']) } },
      {
        path: '/1.0',
        get: {
          access: 'untrusted',
          handler: async (ctx) => {
            if (!ctx.identity.trusted) return sync(this.info.untrusted);
            const server = await this.info.trusted(ctx.project);
            return sync(server, { etag: server.config });
          },
        },
        put: { access: 'admin', handler: (ctx) => this.update(ctx, 'replace') },
        patch: { access: 'admin', handler: (ctx) => this.update(ctx, 'merge') },
      },
      // The events stream is a websocket; a plain GET gets LXD's 400 text answer.
      { path: '/1.0/events', get: { access: 'authenticated', handler: () => raw(400, 'text/plain; charset=utf-8', 'Bad Request\n') } },
    ];
  }

  private async update(ctx: RequestContext, mode: 'replace' | 'merge') {
    const body = ctx.body(ServerPut);
    checkEtag(ctx.ifMatch, await this.config.visible());
    await this.config.update(body.config, mode);
    this.events.lifecycle('config-updated', '/1.0', 'default', ctx.identity);
    return emptySync();
  }
}
