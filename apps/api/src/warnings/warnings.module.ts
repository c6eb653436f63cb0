import { Module } from '@nestjs/common';
import { WarningsRoutes } from './warnings.routes.js';

@Module({ providers: [WarningsRoutes], exports: [WarningsRoutes] })
export class WarningsModule {}
