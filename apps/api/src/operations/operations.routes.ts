import { Injectable } from '@nestjs/common';
import type { Operation } from '@lxdts/api-types';
import { badRequest } from '../http/api-error.js';
import { emptySync, sync } from '../http/response.js';
import type { RequestContext } from '../http/request-context.js';
import type { Route, RouteProvider } from '../http/route.js';
import { OperationsService } from './operations.service.js';

@Injectable()
export class OperationsRoutes implements RouteProvider {
  constructor(private readonly operations: OperationsService) {}

  routes(): Route[] {
    return [
      { path: '/1.0/operations', get: { access: 'project', handler: (ctx) => this.list(ctx) } },
      {
        path: '/1.0/operations/:id',
        get: { access: 'authenticated', handler: async (ctx) => sync(await this.operations.find(ctx.params['id']!, this.scope(ctx))) },
        delete: {
          access: 'authenticated',
          handler: async (ctx) => {
            await this.operations.cancelAny(ctx.params['id']!, this.scope(ctx));
            return emptySync();
          },
        },
      },
      {
        path: '/1.0/operations/:id/wait',
        get: {
          access: 'authenticated',
          handler: async (ctx) => {
            const raw = ctx.query['timeout'];
            const timeout = raw === undefined || raw === '' ? -1 : Number(raw);
            if (!Number.isFinite(timeout)) throw badRequest(`Invalid timeout "${raw}"`);
            return sync(await this.operations.wait(ctx.params['id']!, timeout, this.scope(ctx)));
          },
        },
      },
    ];
  }

  /** Operations are looked up across projects unless the client named one explicitly. */
  private scope(ctx: RequestContext): string | undefined {
    return ctx.query['project'] ? ctx.project : undefined;
  }

  private async list(ctx: RequestContext) {
    const ops = await this.operations.listAll(ctx.allProjects ? null : ctx.project);
    const grouped: Record<string, (Operation | string)[]> = {};
    for (const op of ops) {
      (grouped[op.status.toLowerCase()] ??= []).push(ctx.recursion > 0 ? op : `/1.0/operations/${op.id}`);
    }
    return sync(grouped);
  }
}
