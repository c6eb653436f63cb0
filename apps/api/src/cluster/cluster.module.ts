import { Module } from '@nestjs/common';
import { StoragePoolsModule } from '../storage-pools/storage-pools.module.js';
import { ClusterHeartbeat } from './cluster-heartbeat.js';
import { ClusterRepository } from './cluster.repository.js';
import { ClusterRoutes } from './cluster.routes.js';
import { ClusterService } from './cluster.service.js';

@Module({
  imports: [StoragePoolsModule],
  providers: [ClusterRepository, ClusterService, ClusterHeartbeat, ClusterRoutes],
  exports: [ClusterService, ClusterHeartbeat, ClusterRoutes],
})
export class ClusterModule {}
