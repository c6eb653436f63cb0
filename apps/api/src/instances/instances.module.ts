import { Module } from '@nestjs/common';
import { ImagesModule } from '../images/images.module.js';
import { ProjectsModule } from '../projects/projects.module.js';
import { StoragePoolsModule } from '../storage-pools/storage-pools.module.js';
import { InstanceLogsRoutes } from './instance-logs.routes.js';
import { InstanceLogsService } from './instance-logs.service.js';
import { InstancePowerService } from './instance-power.service.js';
import { InstancePublishService } from './instance-publish.service.js';
import { InstanceBackupsRepository } from './instance-backups.repository.js';
import { InstanceBackupsRoutes } from './instance-backups.routes.js';
import { InstanceBackupsService } from './instance-backups.service.js';
import { InstanceSnapshotTasks } from './instance-snapshot-tasks.js';
import { InstanceSnapshotsRepository } from './instance-snapshots.repository.js';
import { InstanceSnapshotsRoutes } from './instance-snapshots.routes.js';
import { InstanceSnapshotsService } from './instance-snapshots.service.js';
import { INSTANCE_TARGETS } from './instance-target.js';
import { InstancesRepository } from './instances.repository.js';
import { InstancesRoutes } from './instances.routes.js';
import { InstancesService } from './instances.service.js';

@Module({
  imports: [ProjectsModule, ImagesModule, StoragePoolsModule],
  providers: [
    InstancesRepository,
    InstanceSnapshotsRepository,
    InstancesService,
    InstanceSnapshotsService,
    InstanceSnapshotsRoutes,
    InstanceSnapshotTasks,
    InstanceBackupsRepository,
    InstanceBackupsService,
    InstanceBackupsRoutes,
    InstancePowerService,
    InstancePublishService,
    InstancesRoutes,
    InstanceLogsService,
    InstanceLogsRoutes,
    { provide: INSTANCE_TARGETS, useExisting: InstancesService },
  ],
  exports: [InstancesService, InstancePowerService, InstancesRoutes, InstanceSnapshotsRoutes, InstanceBackupsRoutes, InstanceLogsRoutes, INSTANCE_TARGETS],
})
export class InstancesModule {}
