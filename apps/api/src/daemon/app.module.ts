import { type DynamicModule, Module } from '@nestjs/common';
import { CertificatesModule } from '../certificates/certificates.module.js';
import { ClusterModule } from '../cluster/cluster.module.js';
import { ConsoleModule } from '../console/console.module.js';
import { ExecModule } from '../exec/exec.module.js';
import { FilesModule } from '../files/files.module.js';
import { ImagesModule } from '../images/images.module.js';
import { InstancesModule } from '../instances/instances.module.js';
import { NetworksModule } from '../networks/networks.module.js';
import { OperationsRoutes } from '../operations/operations.routes.js';
import { ProfilesModule } from '../profiles/profiles.module.js';
import { ProjectsModule } from '../projects/projects.module.js';
import { ResourcesModule } from '../resources/resources.module.js';
import { ServerInfoService } from '../server/server-info.service.js';
import { ServerRoutes } from '../server/server.routes.js';
import { StoragePoolsModule } from '../storage-pools/storage-pools.module.js';
import { WarningsModule } from '../warnings/warnings.module.js';
import { CoreModule } from './core.module.js';
import type { DaemonContext } from './daemon-context.js';

@Module({})
export class AppModule {
  static forRoot(ctx: DaemonContext): DynamicModule {
    return {
      module: AppModule,
      imports: [
        CoreModule.forRoot(ctx),
        CertificatesModule,
        ProfilesModule,
        ProjectsModule,
        StoragePoolsModule,
        NetworksModule,
        WarningsModule,
        ResourcesModule,
        ImagesModule,
        InstancesModule,
        FilesModule,
        ExecModule,
        ConsoleModule,
        ClusterModule,
      ],
      providers: [ServerInfoService, ServerRoutes, OperationsRoutes],
    };
  }
}
