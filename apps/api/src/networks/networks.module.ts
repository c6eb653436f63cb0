import { Module } from '@nestjs/common';
import { HostInterfacesReader } from './host-interfaces.reader.js';
import { InterfaceStateReader } from './interface-state.reader.js';
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
  ],
  exports: [NetworksService, NetworksRoutes],
})
export class NetworksModule {}
