import { Module } from '@nestjs/common';
import { WarningsRepository } from './warnings.repository.js';
import { WarningsRoutes } from './warnings.routes.js';
import { WarningsService } from './warnings.service.js';

@Module({
  providers: [WarningsRepository, WarningsService, WarningsRoutes],
  exports: [WarningsService, WarningsRoutes],
})
export class WarningsModule {}
