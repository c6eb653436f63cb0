// The declarative route table: every endpoint of the API, grouped by resource. Each provider's `routes()` lists
// its paths, handlers per verb and their access rules (see http/route.ts).
import type { Type } from '@nestjs/common';
import { CertificatesRoutes } from './certificates/certificates.routes.js';
import { ClusterRoutes } from './cluster/cluster.routes.js';
import { ConsoleRoutes } from './console/console.routes.js';
import type { RouteProvider } from './http/route.js';
import { ExecRoutes } from './exec/exec.routes.js';
import { FilesRoutes } from './files/files.routes.js';
import { ImagesRoutes } from './images/images.routes.js';
import { InstanceBackupsRoutes } from './instances/instance-backups.routes.js';
import { InstanceSnapshotsRoutes } from './instances/instance-snapshots.routes.js';
import { InstanceLogsRoutes } from './instances/instance-logs.routes.js';
import { InstancesRoutes } from './instances/instances.routes.js';
import { NetworkAclsRoutes } from './networks/network-acls.routes.js';
import { NetworksRoutes } from './networks/networks.routes.js';
import { OperationsRoutes } from './operations/operations.routes.js';
import { ProfilesRoutes } from './profiles/profiles.routes.js';
import { ProjectsRoutes } from './projects/projects.routes.js';
import { ResourcesRoutes } from './resources/resources.routes.js';
import { ServerRoutes } from './server/server.routes.js';
import { StoragePoolsRoutes } from './storage-pools/storage-pools.routes.js';
import { WarningsRoutes } from './warnings/warnings.routes.js';

export const ROUTE_PROVIDERS: readonly Type<RouteProvider>[] = [
  ServerRoutes,
  OperationsRoutes,
  CertificatesRoutes,
  ProfilesRoutes,
  ProjectsRoutes,
  StoragePoolsRoutes,
  NetworksRoutes,
  NetworkAclsRoutes,
  WarningsRoutes,
  ResourcesRoutes,
  ImagesRoutes,
  InstancesRoutes,
  InstanceSnapshotsRoutes,
  InstanceBackupsRoutes,
  InstanceLogsRoutes,
  FilesRoutes,
  ExecRoutes,
  ConsoleRoutes,
  ClusterRoutes,
];
