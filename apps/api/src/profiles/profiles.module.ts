import { Module } from '@nestjs/common';
import { ProjectsModule } from '../projects/projects.module.js';
import { ProfilesRepository } from './profiles.repository.js';
import { ProfilesRoutes } from './profiles.routes.js';
import { ProfilesService } from './profiles.service.js';

@Module({
  imports: [ProjectsModule],
  providers: [ProfilesRepository, ProfilesService, ProfilesRoutes],
  exports: [ProfilesService, ProfilesRoutes],
})
export class ProfilesModule {}
