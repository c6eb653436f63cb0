// Exec endpoints: POST /1.0/instances/{name}/exec (and the legacy /1.0/containers/{name}/exec pylxd uses), and the
// plain GET of an operation websocket (without `Upgrade:`, which the daemon's upgrade handler never sees).
import { Injectable } from '@nestjs/common';
import { async } from '../http/response.js';
import type { Route, RouteProvider } from '../http/route.js';
import { instanceExecPost } from './exec-request.js';
import { ExecService } from './exec.service.js';
import { OperationWebsocketHub } from './operation-websocket.hub.js';

@Injectable()
export class ExecRoutes implements RouteProvider {
  constructor(
    private readonly exec: ExecService,
    private readonly hub: OperationWebsocketHub,
  ) {}

  routes(): Route[] {
    const post: Route['post'] = {
      access: 'project',
      handler: async (ctx) => async(await this.exec.exec(ctx.project, ctx.params['name']!, ctx.body(instanceExecPost), ctx.identity)),
    };
    return [
      { path: '/1.0/instances/:name/exec', post },
      { path: '/1.0/containers/:name/exec', post },
      {
        path: '/1.0/operations/:id/websocket',
        // The secret authenticates (LXD: AllowUntrusted).
        get: {
          access: 'untrusted',
          handler: (ctx) => {
            throw this.hub.plainRequest(ctx.params['id']!, ctx.query['secret'] ?? '');
          },
        },
      },
    ];
  }
}
