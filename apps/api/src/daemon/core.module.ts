import { type DynamicModule, Global, Module } from '@nestjs/common';
import { EventsService } from '../events/events.service.js';
import { OperationsService } from '../operations/operations.service.js';
import { ServerConfigRepository } from '../server/server-config.repository.js';
import { ServerConfigService } from '../server/server-config.service.js';
import type { DaemonContext } from './daemon-context.js';
import { AGENT_CLIENT, CLUSTER_RUNTIME, DAEMON_OPTIONS, DAEMON_PATHS, STORE } from './tokens.js';

/** Services every resource module may inject: store, events, operations, server config. */
@Global()
@Module({})
export class CoreModule {
  static forRoot(ctx: DaemonContext): DynamicModule {
    const providers = [
      { provide: STORE, useValue: ctx.store },
      { provide: DAEMON_PATHS, useValue: ctx.paths },
      { provide: DAEMON_OPTIONS, useValue: ctx.options },
      { provide: AGENT_CLIENT, useValue: ctx.agent },
      { provide: CLUSTER_RUNTIME, useValue: ctx.cluster },
      EventsService,
      OperationsService,
      ServerConfigRepository,
      ServerConfigService,
    ];
    return { module: CoreModule, providers, exports: providers };
  }
}
