import { Module } from '@nestjs/common';
import { CustomVolumeBackupsService } from './custom-volume-backups.service.js';
import { CustomVolumesService } from './custom-volumes.service.js';
import { StoragePoolsRepository } from './storage-pools.repository.js';
import { StoragePoolsRoutes } from './storage-pools.routes.js';
import { StoragePoolsService } from './storage-pools.service.js';
import { StorageVolumesRepository } from './storage-volumes.repository.js';
import { StorageVolumesRoutes } from './storage-volumes.routes.js';
import { StorageVolumesService } from './storage-volumes.service.js';

@Module({
  providers: [
    StoragePoolsRepository,
    StoragePoolsService,
    StorageVolumesRepository,
    StorageVolumesService,
    CustomVolumesService,
    CustomVolumeBackupsService,
    StorageVolumesRoutes,
    StoragePoolsRoutes,
  ],
  exports: [StoragePoolsService, StoragePoolsRoutes, StoragePoolsRepository],
})
export class StoragePoolsModule {}
