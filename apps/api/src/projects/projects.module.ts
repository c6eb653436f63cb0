import { Module } from '@nestjs/common';
import { ProjectsRoutes } from './projects.routes.js';

@Module({ providers: [ProjectsRoutes], exports: [ProjectsRoutes] })
export class ProjectsModule {}
