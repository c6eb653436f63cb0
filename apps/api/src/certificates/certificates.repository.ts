import { Inject, Injectable } from '@nestjs/common';
import type { Store } from '@lxdts/raft-store';
import { STORE } from '../daemon/tokens.js';

export interface CertificateRow {
  id: number;
  fingerprint: string;
  type: number;
  name: string;
  certificate: string;
  restricted: boolean;
  projects: string[];
}

@Injectable()
export class CertificatesRepository {
  constructor(@Inject(STORE) private readonly store: Store) {}

  async list(): Promise<CertificateRow[]> {
    const rows = await this.store.db.selectFrom('certificates').selectAll().orderBy('fingerprint').execute();
    const links = await this.store.db
      .selectFrom('certificates_projects')
      .innerJoin('projects', 'projects.id', 'certificates_projects.project_id')
      .select(['certificates_projects.certificate_id as id', 'projects.name as project'])
      .orderBy('projects.name')
      .execute();
    return rows.map((r) => ({
      ...r,
      restricted: r.restricted === 1,
      projects: links.filter((l) => l.id === r.id).map((l) => l.project),
    }));
  }
}
