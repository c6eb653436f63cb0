// /internal/*: daemon control used by `lxdts waitready` and `lxdts shutdown` (as LXD's /internal/ready|shutdown).
import { Injectable } from '@nestjs/common';
import { forbidden } from '../http/api-error.js';
import { emptySync } from '../http/response.js';
import type { Route, RouteProvider } from '../http/route.js';
import type { RequestContext } from '../http/request-context.js';

@Injectable()
export class InternalRoutes implements RouteProvider {
  /** Set by the daemon once everything is up; called (once) on PUT /internal/shutdown. */
  ready = false;
  onShutdown: () => void = () => undefined;

  routes(): Route[] {
    const unixOnly = (ctx: RequestContext) => {
      if (ctx.identity.transport !== 'unix') throw forbidden();
    };
    return [
      {
        path: '/internal/ready',
        get: {
          access: 'admin',
          handler: (ctx) => {
            unixOnly(ctx);
            if (!this.ready) throw Object.assign(new Error('LXD daemon not ready yet'), { statusCode: 423 });
            return emptySync();
          },
        },
      },
      {
        path: '/internal/shutdown',
        put: {
          access: 'admin',
          handler: (ctx) => {
            unixOnly(ctx);
            setImmediate(() => this.onShutdown());
            return emptySync();
          },
        },
      },
    ];
  }
}
