import { Module } from '@nestjs/common';
import { ImagesModule } from '../images/images.module.js';
import { StoragePoolsModule } from '../storage-pools/storage-pools.module.js';
import { ClusterHeartbeat } from './cluster-heartbeat.js';
import { EventRelay } from './event-relay.js';
import { ClusterRepository } from './cluster.repository.js';
import { ClusterRoutes } from './cluster.routes.js';
import { ClusterService } from './cluster.service.js';

@Module({
  imports: [StoragePoolsModule, ImagesModule],
  providers: [ClusterRepository, ClusterService, ClusterHeartbeat, EventRelay, ClusterRoutes],
  exports: [ClusterService, ClusterHeartbeat, EventRelay, ClusterRoutes],
})
export class ClusterModule {}
