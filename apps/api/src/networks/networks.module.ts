import { Module } from '@nestjs/common';
import { HostInterfacesReader } from './host-interfaces.reader.js';
import { InterfaceStateReader } from './interface-state.reader.js';
import { NetworkAclsRepository } from './network-acls.repository.js';
import { NetworkAclsRoutes } from './network-acls.routes.js';
import { NetworkAclsService } from './network-acls.service.js';
import { NetworksRepository } from './networks.repository.js';
import { NetworksRoutes } from './networks.routes.js';
import { NetworksService } from './networks.service.js';

@Module({
  providers: [
    { provide: HostInterfacesReader, useValue: new HostInterfacesReader() },
    { provide: InterfaceStateReader, useValue: new InterfaceStateReader() },
    NetworksRepository,
    NetworksService,
    NetworksRoutes,
    NetworkAclsRepository,
    NetworkAclsService,
    NetworkAclsRoutes,
  ],
  exports: [NetworksService, NetworksRoutes, NetworkAclsRoutes],
})
export class NetworksModule {}
