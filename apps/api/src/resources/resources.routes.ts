import { Injectable } from '@nestjs/common';
import type { Route, RouteProvider } from '../http/route.js';

@Injectable()
export class ResourcesRoutes implements RouteProvider {
  routes(): Route[] {
    return [];
  }
}
