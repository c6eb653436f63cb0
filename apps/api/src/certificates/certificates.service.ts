import { Injectable } from '@nestjs/common';
import type { TrustStore, TrustedCertificate } from '../auth/authenticator.js';
import { CertificatesRepository } from './certificates.repository.js';

@Injectable()
export class CertificatesService implements TrustStore {
  private trusted = new Map<string, TrustedCertificate>();

  constructor(private readonly repo: CertificatesRepository) {}

  /** (Re)loads the in-memory trust cache used on every TLS request. */
  async refresh(): Promise<void> {
    const rows = await this.repo.list();
    this.trusted = new Map(rows.map((r) => [r.fingerprint, r]));
  }

  lookup(fingerprint: string): TrustedCertificate | undefined {
    return this.trusted.get(fingerprint);
  }
}
