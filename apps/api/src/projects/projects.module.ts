import { Module } from '@nestjs/common';
import { ProjectsRepository } from './projects.repository.js';
import { ProjectsRoutes } from './projects.routes.js';
import { ProjectsService } from './projects.service.js';

@Module({
  providers: [ProjectsRepository, ProjectsService, ProjectsRoutes],
  exports: [ProjectsService, ProjectsRoutes],
})
export class ProjectsModule {}
