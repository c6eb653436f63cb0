// Test support: a real SqliteStore on a temporary file with the project/profile services wired as Nest would.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EventLifecycle } from '@lxdts/api-types';
import { SqliteStore } from '@lxdts/raft-store';
import { type Identity, unixIdentity } from '../auth/identity.js';
import { EventsService } from '../events/events.service.js';
import { OperationsService } from '../operations/operations.service.js';
import { ProjectsRepository } from './projects.repository.js';
import { ProjectsService } from './projects.service.js';

export interface StoreFixture {
  store: SqliteStore;
  events: EventsService;
  operations: OperationsService;
  projects: ProjectsService;
  identity: Identity;
  /** Lifecycle events seen so far, with their project. */
  lifecycle: (EventLifecycle & { project: string })[];
  /** Adds an instance row (and its profiles, in order) straight into the database. */
  addInstance(project: string, name: string, profiles: string[], opts?: { type?: number; config?: Record<string, string> }): Promise<void>;
  close(): Promise<void>;
}

export async function openStoreFixture(): Promise<StoreFixture> {
  const dir = mkdtempSync(join(tmpdir(), 'lxdts-projects-'));
  const store = await SqliteStore.open(join(dir, 'database', 'local.db'));
  const events = new EventsService();
  const operations = new OperationsService(events);
  const projects = new ProjectsService(new ProjectsRepository(store), events, operations);
  const lifecycle: StoreFixture['lifecycle'] = [];
  events.subscribe({
    types: new Set(['lifecycle']),
    project: null,
    send: (frame) => {
      const e = JSON.parse(frame) as { project: string; metadata: EventLifecycle };
      lifecycle.push({ ...e.metadata, project: e.project });
    },
  });
  const addInstance: StoreFixture['addInstance'] = async (project, name, profiles, opts = {}) => {
    await store.transaction(async (tx) => {
      const p = await tx.selectFrom('projects').select('id').where('name', '=', project).executeTakeFirstOrThrow();
      const { id } = await tx
        .insertInto('instances')
        .values({
          node_id: 1,
          name,
          type: opts.type ?? 0,
          architecture: 2,
          ephemeral: 0,
          creation_date: new Date().toISOString(),
          stateful: 0,
          last_use_date: null,
          description: '',
          project_id: p.id,
          expiry_date: null,
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      for (const [key, value] of Object.entries(opts.config ?? {})) {
        await tx.insertInto('instances_config').values({ instance_id: id, key, value }).execute();
      }
      for (const [order, profile] of profiles.entries()) {
        const [profileProject, profileName] = profile.includes('/') ? profile.split('/') : [project, profile];
        const row = await tx
          .selectFrom('profiles')
          .innerJoin('projects', 'projects.id', 'profiles.project_id')
          .select('profiles.id')
          .where('projects.name', '=', profileProject!)
          .where('profiles.name', '=', profileName!)
          .executeTakeFirstOrThrow();
        await tx.insertInto('instances_profiles').values({ instance_id: id, profile_id: row.id, apply_order: order }).execute();
      }
    });
  };
  return {
    store,
    events,
    operations,
    projects,
    identity: unixIdentity(),
    lifecycle,
    addInstance,
    close: async () => {
      operations.shutdown();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
