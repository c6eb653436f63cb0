import { Injectable } from '@nestjs/common';
import type { Route, RouteProvider } from '../http/route.js';

@Injectable()
export class WarningsRoutes implements RouteProvider {
  routes(): Route[] {
    return [];
  }
}
