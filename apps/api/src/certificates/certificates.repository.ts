import { Inject, Injectable } from '@nestjs/common';
import type { Store, Tx } from '@lxdts/raft-store';
import type { CertificateType } from '@lxdts/api-types';
import { STORE } from '../daemon/tokens.js';

export interface CertificateRecord {
  fingerprint: string;
  type: CertificateType;
  name: string;
  certificate: string;
  restricted: boolean;
  projects: string[];
}

/** LXD's certificate type codes in the database. */
const TYPE_CODES: Record<CertificateType, number> = { client: 1, server: 2, metrics: 3 };
const TYPE_NAMES: Record<number, CertificateType> = { 1: 'client', 2: 'server', 3: 'metrics' };

@Injectable()
export class CertificatesRepository {
  constructor(@Inject(STORE) private readonly store: Store) {}

  async list(): Promise<CertificateRecord[]> {
    const rows = await this.store.db.selectFrom('certificates').selectAll().orderBy('fingerprint').execute();
    const links = await this.store.db
      .selectFrom('certificates_projects')
      .innerJoin('projects', 'projects.id', 'certificates_projects.project_id')
      .select(['certificates_projects.certificate_id as id', 'projects.name as project'])
      .orderBy('projects.name')
      .execute();
    return rows.map((r) => ({
      fingerprint: r.fingerprint,
      type: TYPE_NAMES[r.type] ?? 'client',
      name: r.name,
      certificate: r.certificate,
      restricted: r.restricted === 1,
      projects: links.filter((l) => l.id === r.id).map((l) => l.project),
    }));
  }

  /** Names of existing projects among `names` (to report unknown ones). */
  async existingProjects(names: string[]): Promise<string[]> {
    if (names.length === 0) return [];
    const rows = await this.store.db.selectFrom('projects').select('name').where('name', 'in', names).execute();
    return rows.map((r) => r.name);
  }

  async insert(cert: CertificateRecord): Promise<void> {
    await this.store.transaction(async (tx) => {
      const { id } = await tx
        .insertInto('certificates')
        .values({
          fingerprint: cert.fingerprint,
          type: TYPE_CODES[cert.type],
          name: cert.name,
          certificate: cert.certificate,
          restricted: cert.restricted ? 1 : 0,
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      await this.linkProjects(tx, id, cert.projects);
    });
  }

  /** Replaces the certificate identified by `fingerprint` (which may itself change). */
  async update(fingerprint: string, cert: CertificateRecord): Promise<void> {
    await this.store.transaction(async (tx) => {
      const row = await tx.selectFrom('certificates').select('id').where('fingerprint', '=', fingerprint).executeTakeFirstOrThrow();
      await tx
        .updateTable('certificates')
        .set({
          fingerprint: cert.fingerprint,
          type: TYPE_CODES[cert.type],
          name: cert.name,
          certificate: cert.certificate,
          restricted: cert.restricted ? 1 : 0,
        })
        .where('id', '=', row.id)
        .execute();
      await tx.deleteFrom('certificates_projects').where('certificate_id', '=', row.id).execute();
      await this.linkProjects(tx, row.id, cert.projects);
    });
  }

  async delete(fingerprint: string): Promise<void> {
    await this.store.db.deleteFrom('certificates').where('fingerprint', '=', fingerprint).execute();
  }

  private async linkProjects(tx: Tx, certificateId: number, projects: string[]): Promise<void> {
    if (projects.length === 0) return;
    const rows = await tx.selectFrom('projects').select('id').where('name', 'in', projects).execute();
    await tx
      .insertInto('certificates_projects')
      .values(rows.map((r) => ({ certificate_id: certificateId, project_id: r.id })))
      .execute();
  }
}
