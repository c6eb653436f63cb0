import { Module } from '@nestjs/common';
import { CertificatesRepository } from './certificates.repository.js';
import { CertificatesRoutes } from './certificates.routes.js';
import { CertificatesService } from './certificates.service.js';

@Module({
  providers: [CertificatesRepository, CertificatesService, CertificatesRoutes],
  exports: [CertificatesService, CertificatesRoutes],
})
export class CertificatesModule {}
