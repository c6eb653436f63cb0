import { Module } from '@nestjs/common';
import { ResourcesRoutes } from './resources.routes.js';

@Module({ providers: [ResourcesRoutes], exports: [ResourcesRoutes] })
export class ResourcesModule {}
