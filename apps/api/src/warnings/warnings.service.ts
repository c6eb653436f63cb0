// Warnings: the /1.0/warnings API and the calls other code uses to raise and resolve them.
import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type { Warning, WarningStatus } from '@lxdts/api-types';
import type { Identity } from '../auth/identity.js';
import { EventsService } from '../events/events.service.js';
import { badRequest, forbidden, notFound } from '../http/api-error.js';
import {
  type WarningEntityTypeCode,
  type WarningTypeCode,
  WarningStatusCode,
  warningSeverity,
  warningStatusName,
  warningTypeName,
} from './warning-types.js';
import { type WarningKey, type WarningRow, WarningsRepository } from './warnings.repository.js';
import { localMember } from '../cluster/local-member.js';

/** Standalone daemons are member 1 ("none") of their own database. */

export interface WarningTarget {
  /** Project the warning belongs to; omitted = none. */
  project?: string;
  /** The object concerned (shown as entity_url). */
  entity?: { type: WarningEntityTypeCode; id: number };
  /** Cluster-wide warnings have no member; default false (this member). */
  clusterWide?: boolean;
}

@Injectable()
export class WarningsService {
  constructor(
    private readonly repo: WarningsRepository,
    private readonly events: EventsService,
  ) {}

  /** `project` undefined = every project and the project-less warnings. */
  async list(project?: string): Promise<Warning[]> {
    const rows = await this.repo.list(project);
    return Promise.all(rows.map((r) => this.toApi(r)));
  }

  async get(uuid: string): Promise<Warning> {
    const row = await this.repo.get(uuid);
    if (!row) throw notFound('Warning not found');
    return this.toApi(row);
  }

  /** PUT/PATCH: only "new" and "acknowledged" may be set by clients (resolving is the daemon's call). */
  async setStatus(uuid: string, status: string, identity: Identity): Promise<void> {
    const row = await this.repo.get(uuid);
    if (!row) throw notFound('Warning not found');
    if (!(status in WarningStatusCode)) throw badRequest(`Invalid warning status "${status}"`);
    if (status !== 'new' && status !== 'acknowledged') {
      throw forbidden('Status may only be set to "acknowledged" or "new"');
    }
    await this.repo.setStatus(uuid, WarningStatusCode[status], now());
    const action = status === 'acknowledged' ? 'warning-acknowledged' : 'warning-reset';
    this.events.lifecycle(action, `/1.0/warnings/${uuid}`, row.project ?? '', identity);
  }

  async delete(uuid: string, identity: Identity): Promise<void> {
    const row = await this.repo.get(uuid);
    if (!row || !(await this.repo.delete(uuid))) throw notFound('Warning not found');
    this.events.lifecycle('warning-deleted', `/1.0/warnings/${uuid}`, row.project ?? '', identity);
  }

  /**
   * Records that `type` happened (again): a new warning, or the existing one for the same member, project, entity and
   * type with its count bumped and message refreshed. Returns the warning's UUID.
   */
  async raise(type: WarningTypeCode, message: string, target: WarningTarget = {}): Promise<string> {
    return this.repo.upsert(await this.key(type, target), message, now(), randomUUID());
  }

  /**
   * Marks warnings of `type` on this member resolved; narrowed to a project / entity when given. Returns how many
   * changed.
   */
  async resolve(type: WarningTypeCode, target: WarningTarget = {}): Promise<number> {
    const key = await this.key(type, target);
    return this.repo.resolve(
      {
        typeCode: type,
        nodeId: key.nodeId,
        ...(target.project !== undefined ? { projectId: key.projectId } : {}),
        ...(target.entity ? { entityTypeCode: key.entityTypeCode, entityId: key.entityId } : {}),
      },
      now(),
    );
  }

  private async key(type: WarningTypeCode, target: WarningTarget): Promise<WarningKey> {
    let projectId: number | null = null;
    if (target.project !== undefined) {
      const id = await this.repo.projectId(target.project);
      if (id === undefined) throw notFound('Project not found');
      projectId = id;
    }
    return {
      typeCode: type,
      nodeId: target.clusterWide ? null : localMember.nodeId,
      projectId,
      entityTypeCode: target.entity?.type ?? null,
      entityId: target.entity?.id ?? null,
    };
  }

  private async toApi(row: WarningRow): Promise<Warning> {
    const status: WarningStatus = warningStatusName(row.status);
    return {
      uuid: row.uuid,
      location: row.node ?? '',
      project: row.project ?? '',
      type: warningTypeName(row.type_code),
      count: row.count,
      first_seen_at: row.first_seen_date,
      last_seen_at: row.last_seen_date,
      last_message: row.last_message,
      severity: warningSeverity(row.type_code),
      status,
      entity_url: await this.repo.entityUrl(row.entity_type_code, row.entity_id),
    };
  }
}

const now = (): string => new Date().toISOString();
