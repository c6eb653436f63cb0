import { Module } from '@nestjs/common';
import { InstancesModule } from '../instances/instances.module.js';
import { FilesRoutes } from './files.routes.js';
import { FilesService } from './files.service.js';

/** Instance file access; needs INSTANCE_TARGETS (InstancesModule) and AGENT_CLIENT (CoreModule, global). */
@Module({
  imports: [InstancesModule],
  providers: [FilesService, FilesRoutes],
  exports: [FilesRoutes],
})
export class FilesModule {}
