import { Module } from '@nestjs/common';
import { InstancesModule } from '../instances/instances.module.js';
import { ExecRoutes } from './exec.routes.js';
import { ExecService } from './exec.service.js';
import { OperationWebsocketHub } from './operation-websocket.hub.js';

/**
 * Instance exec and the operation websocket hub. Needs INSTANCE_TARGETS (InstancesModule) and, from the global
 * CoreModule, AGENT_CLIENT, DAEMON_PATHS, OperationsService and EventsService. The daemon offers upgrade requests
 * to OperationWebsocketHub.handleUpgrade.
 */
@Module({
  imports: [InstancesModule],
  providers: [ExecService, ExecRoutes, OperationWebsocketHub],
  exports: [ExecRoutes, OperationWebsocketHub],
})
export class ExecModule {}
