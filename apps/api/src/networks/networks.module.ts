import { Module } from '@nestjs/common';
import { NetworksRoutes } from './networks.routes.js';

@Module({ providers: [NetworksRoutes], exports: [NetworksRoutes] })
export class NetworksModule {}
