import { Module } from '@nestjs/common';
import { ProfilesRoutes } from './profiles.routes.js';

@Module({ providers: [ProfilesRoutes], exports: [ProfilesRoutes] })
export class ProfilesModule {}
