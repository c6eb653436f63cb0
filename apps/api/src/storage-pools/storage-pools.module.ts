import { Module } from '@nestjs/common';
import { StoragePoolsRoutes } from './storage-pools.routes.js';

@Module({ providers: [StoragePoolsRoutes], exports: [StoragePoolsRoutes] })
export class StoragePoolsModule {}
