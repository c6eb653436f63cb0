import { Injectable } from '@nestjs/common';
import { sync } from '../http/response.js';
import type { Route, RouteProvider } from '../http/route.js';
import { ResourcesService } from './resources.service.js';

@Injectable()
export class ResourcesRoutes implements RouteProvider {
  constructor(private readonly resources: ResourcesService) {}

  routes(): Route[] {
    return [{ path: '/1.0/resources', get: { access: 'authenticated', handler: () => sync(this.resources.read()) } }];
  }
}
