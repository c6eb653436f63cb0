// /internal/*: daemon control used by `lxdts waitready` and `lxdts shutdown` (as LXD's /internal/ready|shutdown).
import type { Store } from '@lxdts/raft-store';
import { badRequest, forbidden } from '../http/api-error.js';
import { object, oneOf, string } from '../http/body-schema.js';
import { emptySync, sync } from '../http/response.js';
import type { Route, RouteProvider } from '../http/route.js';
import type { RequestContext } from '../http/request-context.js';

const SqlPost = object({ database: oneOf(['local', 'global'] as const, false), query: string });

export class InternalRoutes implements RouteProvider {
  /** Set by the daemon once everything is up; called (once) on PUT /internal/shutdown. */
  ready = false;
  onShutdown: () => void = () => undefined;

  constructor(private readonly store: Store) {}

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
      {
        // `lxdts sql`: one raw statement against the local or global database.
        path: '/internal/sql',
        post: {
          access: 'admin',
          handler: async (ctx) => {
            unixOnly(ctx);
            const body = ctx.body(SqlPost);
            if (body.query.trim() === '') throw badRequest('No query provided');
            try {
              return sync(await this.store.raw(body.database as 'local' | 'global', body.query));
            } catch (err) {
              throw badRequest((err as Error).message);
            }
          },
        },
      },
    ];
  }
}
