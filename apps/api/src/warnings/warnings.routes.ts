import { Injectable } from '@nestjs/common';
import type { Warning } from '@lxdts/api-types';
import { notFound } from '../http/api-error.js';
import { object, string } from '../http/body-schema.js';
import { checkEtag } from '../http/etag.js';
import type { RequestContext } from '../http/request-context.js';
import { emptySync, sync } from '../http/response.js';
import type { Route, RouteProvider } from '../http/route.js';
import { WarningsService } from './warnings.service.js';

const WarningPut = object({ status: string });

const writable = (w: Warning) => ({ status: w.status });

@Injectable()
export class WarningsRoutes implements RouteProvider {
  constructor(private readonly warnings: WarningsService) {}

  routes(): Route[] {
    return [
      {
        path: '/1.0/warnings',
        get: {
          access: 'authenticated',
          handler: async (ctx) => {
            // Unlike most collections, no ?project= means every project (LXD's warningsGet).
            const project = ctx.query['project'] || undefined;
            const all = (await this.warnings.list(project)).filter((w) => this.visible(ctx, w));
            return sync(ctx.recursion > 0 ? all : all.map((w) => `/1.0/warnings/${w.uuid}`));
          },
        },
      },
      {
        path: '/1.0/warnings/:uuid',
        get: {
          access: 'authenticated',
          handler: async (ctx) => {
            const w = await this.visibleWarning(ctx);
            return sync(w, { etag: writable(w) });
          },
        },
        put: { access: 'admin', handler: (ctx) => this.update(ctx, false) },
        patch: { access: 'admin', handler: (ctx) => this.update(ctx, true) },
        delete: {
          access: 'admin',
          handler: async (ctx) => {
            await this.warnings.delete(ctx.params['uuid'] ?? '', ctx.identity);
            return emptySync();
          },
        },
      },
    ];
  }

  private async update(ctx: RequestContext, patch: boolean) {
    const current = await this.warnings.get(ctx.params['uuid'] ?? '');
    const body = ctx.body(WarningPut);
    checkEtag(ctx.ifMatch, writable(current));
    const status = patch && body.status === '' ? current.status : body.status;
    await this.warnings.setStatus(current.uuid, status, ctx.identity);
    return emptySync();
  }

  /** Restricted clients only see the warnings of their projects. */
  private visible(ctx: RequestContext, w: Warning): boolean {
    return !ctx.identity.restricted || ctx.identity.projects.includes(w.project);
  }

  private async visibleWarning(ctx: RequestContext): Promise<Warning> {
    const w = await this.warnings.get(ctx.params['uuid'] ?? '');
    if (!this.visible(ctx, w)) throw notFound('Warning not found');
    return w;
  }
}
