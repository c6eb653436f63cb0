import { Module } from '@nestjs/common';
import { ResourcesRoutes } from './resources.routes.js';
import { ResourcesService } from './resources.service.js';

@Module({
  providers: [{ provide: ResourcesService, useValue: new ResourcesService() }, ResourcesRoutes],
  exports: [ResourcesService, ResourcesRoutes],
})
export class ResourcesModule {}
