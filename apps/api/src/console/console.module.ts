import { Module } from '@nestjs/common';
import { ExecModule } from '../exec/exec.module.js';
import { InstancesModule } from '../instances/instances.module.js';
import { ConsoleRoutes } from './console.routes.js';
import { ConsoleService } from './console.service.js';

/**
 * The instance console: POST (websocket operation), GET and DELETE of /1.0/instances/{name}/console. Needs
 * INSTANCE_TARGETS (InstancesModule), the operation websocket hub (ExecModule) and, from the global CoreModule,
 * AGENT_CLIENT, OperationsService and EventsService.
 */
@Module({
  imports: [InstancesModule, ExecModule],
  providers: [ConsoleService, ConsoleRoutes],
  exports: [ConsoleRoutes],
})
export class ConsoleModule {}
