// Projects: CRUD with LXD's rules (features only change on empty projects, default cannot go), usage state, and
// the project lookups other resources need (which project holds a request's profiles or networks).
import { BlockList } from 'node:net';
import { Injectable } from '@nestjs/common';
import type { Operation, Project, ProjectPut, ProjectState, ProjectsPost } from '@lxdts/api-types';
import type { Db, Tx } from '@lxdts/raft-store';
import { type Identity, canAccessProject } from '../auth/identity.js';
import { EventsService } from '../events/events.service.js';
import { badRequest, conflict, forbidden, notFound } from '../http/api-error.js';
import { checkEtag } from '../http/etag.js';
import { OperationsService } from '../operations/operations.service.js';
import { apiUrl } from './api-url.js';
import { isTrue, parseCidr } from './config-validators.js';
import { DEFAULT_ENABLED_FEATURES, isProjectFeature, projectConfigProblem } from './project-config-keys.js';
import { validateProjectName } from './project-name.js';
import { type ProfileRecord, profileUpdateProblem, projectState, projectUpdateProblem } from './project-usage.js';
import { type ProjectRow, ProjectsRepository } from './projects.repository.js';

export const DEFAULT_PROJECT = 'default';

/** Which fields a PATCH body carried (absent fields keep their value). */
export interface ProjectPatchPresence {
  description: boolean;
  config: boolean;
}

/** The part of a project its ETag covers, in LXD's order (so ETags match LXD's). */
export const projectEtag = (p: { description: string; config: Record<string, string> }): unknown[] => [p.description, p.config];

@Injectable()
export class ProjectsService {
  constructor(
    private readonly repo: ProjectsRepository,
    private readonly events: EventsService,
    private readonly operations: OperationsService,
  ) {}

  /** Projects the identity may see, as URLs or objects. */
  async list(identity: Identity, recursion: number): Promise<string[] | Project[]> {
    const rows = (await this.repo.list()).filter((r) => canAccessProject(identity, r.name));
    if (recursion === 0) return rows.map((r) => apiUrl(['projects', r.name]));
    return Promise.all(rows.map((r) => this.toApi(r)));
  }

  async get(name: string, identity: Identity): Promise<Project> {
    if (!canAccessProject(identity, name)) throw forbidden();
    return this.toApi(await this.load(name));
  }

  async state(name: string, identity: Identity): Promise<ProjectState> {
    if (!canAccessProject(identity, name)) throw forbidden();
    const row = await this.load(name);
    try {
      return projectState(row.name, row.config, await this.repo.inventory(row.id));
    } catch (err) {
      throw badRequest((err as Error).message);
    }
  }

  /** Creates a project (LXD turns on images/profiles/storage.volumes features unless the request sets them). */
  async create(post: ProjectsPost, identity: Identity): Promise<string> {
    validateProjectName(post.name);
    const config: Record<string, string> = { ...post.config };
    for (const feature of DEFAULT_ENABLED_FEATURES) if (!(feature in config)) config[feature] = 'true';
    const problem = projectConfigProblem(config) ?? (await this.subnetsProblem(config));
    if (problem) throw badRequest(problem);
    await this.repo.transaction(async (tx) => {
      if (await this.repo.find(post.name, tx)) {
        throw conflict(`Failed creating project "${post.name}": Failed adding database record: This "projects" entry already exists`);
      }
      const id = await this.repo.create(tx, { name: post.name, description: post.description, config });
      if (isTrue(config['features.profiles'])) {
        await this.repo.createDefaultProfile(tx, { id, name: post.name });
        if (config['features.images'] === 'false') await this.repo.linkDefaultImagesToProfile(tx, id);
      }
    });
    const source = apiUrl(['projects', post.name]);
    this.events.lifecycle('project-created', source, post.name, identity);
    return source;
  }

  /** PUT (all fields) or PATCH (only the fields present; config keys merged). */
  async update(name: string, body: ProjectPut, presence: ProjectPatchPresence | null, ifMatch: string | undefined, identity: Identity): Promise<void> {
    await this.repo.transaction(async (tx) => {
      const current = await this.load(name, tx);
      checkEtag(ifMatch, projectEtag(current));
      const next: ProjectPut = presence
        ? {
            description: presence.description ? body.description : current.description,
            config: presence.config ? { ...current.config, ...body.config } : { ...current.config },
          }
        : { description: body.description, config: { ...body.config } };
      for (const [k, v] of Object.entries(next.config)) if (v === '') delete next.config[k];
      const changed = [...new Set([...Object.keys(current.config), ...Object.keys(next.config)])].filter(
        (k) => (current.config[k] ?? '') !== (next.config[k] ?? ''),
      );
      await this.checkFeatureChanges(current, changed, tx);
      const problem =
        projectConfigProblem(next.config) ??
        (await this.subnetsProblem(next.config, tx)) ??
        projectUpdateProblem(current.name, next.config, changed, await this.repo.inventory(current.id, tx));
      if (problem) throw badRequest(problem);
      await this.repo.update(tx, current.id, next);
      if (changed.includes('features.profiles')) {
        if (isTrue(next.config['features.profiles'])) await this.repo.createDefaultProfile(tx, current);
        else await this.repo.deleteDefaultProfile(tx, current.id);
      }
      if (changed.includes('features.images') && next.config['features.images'] === 'false' && isTrue(next.config['features.profiles'])) {
        await this.repo.linkDefaultImagesToProfile(tx, current.id);
      }
    });
    this.events.lifecycle('project-updated', apiUrl(['projects', name]), name, identity);
  }

  /**
   * Renames an empty project. LXD answers with an operation; the checks and the change happen before it is
   * returned, so bad requests get a 4xx and the operation only reports success.
   */
  async rename(name: string, newName: string, identity: Identity): Promise<Operation> {
    if (name === DEFAULT_PROJECT) throw forbidden("The 'default' project cannot be renamed");
    validateProjectName(newName);
    await this.repo.transaction(async (tx) => {
      if (await this.repo.find(newName, tx)) throw conflict(`A project named "${newName}" already exists`);
      const current = await this.load(name, tx);
      if (!(await this.repo.isEmpty(current.id, tx))) throw conflict('Only empty projects can be renamed');
      await this.repo.rename(tx, current.id, newName);
    });
    return this.operations.start({
      class: 'task',
      description: 'Renaming project',
      project: '',
      run: async () => {
        this.events.lifecycle('project-renamed', apiUrl(['projects', newName]), newName, identity, { old_name: name });
      },
    });
  }

  async delete(name: string, identity: Identity): Promise<void> {
    if (name === DEFAULT_PROJECT) throw forbidden("The 'default' project cannot be deleted");
    await this.repo.transaction(async (tx) => {
      const current = await this.load(name, tx);
      if (!(await this.repo.isEmpty(current.id, tx))) throw conflict('Only empty projects can be removed');
      await this.repo.delete(tx, current.id);
    });
    this.events.lifecycle('project-deleted', apiUrl(['projects', name]), name, identity);
  }

  /**
   * The project whose profiles a request for `name` uses: itself with features.profiles=true, else `default`.
   * An unknown project is a 404 with LXD's message.
   */
  async profileProject(name: string, db: Db = this.repo.db): Promise<ProjectRow> {
    const row = await this.repo.find(name, db);
    if (!row) throw notFound(`Failed loading project "${name}": Project not found`);
    if (row.name === DEFAULT_PROJECT || isTrue(row.config['features.profiles'])) return row;
    return this.load(DEFAULT_PROJECT, db);
  }

  /** The project whose networks a project uses (its own with features.networks=true). */
  async networkProject(project: ProjectRow, db: Db = this.repo.db): Promise<ProjectRow> {
    if (project.name === DEFAULT_PROJECT || isTrue(project.config['features.networks'])) return project;
    return this.load(DEFAULT_PROJECT, db);
  }

  /** LXD's check of a profile change against its project's aggregate limits and restrictions; a message or null. */
  async profileChangeProblem(project: ProjectRow, profile: ProfileRecord, tx: Tx): Promise<string | null> {
    const limited = Object.keys(project.config).some((k) => k.startsWith('limits.')) || isTrue(project.config['restricted']);
    if (!limited) return null;
    return profileUpdateProblem(project.name, project.config, await this.repo.inventory(project.id, tx), profile);
  }

  /** A project's row; 404 when it does not exist. */
  row(name: string, db: Db = this.repo.db): Promise<ProjectRow> {
    return this.load(name, db);
  }

  private async load(name: string, db: Db = this.repo.db): Promise<ProjectRow> {
    const row = await this.repo.find(name, db);
    if (!row) throw notFound('Project not found');
    return row;
  }

  private async toApi(row: ProjectRow): Promise<Project> {
    return { config: row.config, description: row.description, name: row.name, used_by: await this.repo.usedBy(row) };
  }

  /** Features decide where a project's resources live, so they only move while the project holds nothing. */
  private async checkFeatureChanges(current: ProjectRow, changed: readonly string[], tx: Tx): Promise<void> {
    const features = changed.filter(isProjectFeature);
    if (features.length === 0) return;
    if (current.name === DEFAULT_PROJECT) throw badRequest("You can't change the features of the default project");
    if (await this.repo.isEmpty(current.id, tx)) return;
    const feature = features[0]!;
    const how = isTrue(current.config[feature]) ? 'disabled' : 'enabled';
    throw badRequest(`Project feature "${feature}" cannot be ${how} on non-empty projects`);
  }

  /** restricted.networks.subnets entries must lie within an uplink network's routes. */
  private async subnetsProblem(config: Record<string, string>, db: Db = this.repo.db): Promise<string | null> {
    const value = config['restricted.networks.subnets'];
    if (!value) return null;
    const prefix = 'Invalid project configuration key "restricted.networks.subnets" value: ';
    for (const item of value.split(',').map((s) => s.trim())) {
      const colon = item.indexOf(':');
      const uplink = item.slice(0, colon);
      const subnet = parseCidr(item.slice(colon + 1))!;
      const uplinkConfig = await this.repo.uplinkConfig(uplink, db);
      if (!uplinkConfig) return `${prefix}Invalid uplink network "${uplink}": Network not found`;
      const routes = ['ipv4.routes', 'ipv6.routes'].flatMap((k) => (uplinkConfig[k] ?? '').split(',').map((s) => s.trim()).filter(Boolean));
      const within = routes.some((route) => {
        const r = parseCidr(route);
        if (!r || r.family !== subnet.family || r.prefix > subnet.prefix) return false;
        const list = new BlockList();
        list.addSubnet(r.address, r.prefix, r.family === 4 ? 'ipv4' : 'ipv6');
        return list.check(subnet.address, subnet.family === 4 ? 'ipv4' : 'ipv6');
      });
      if (!within) return `${prefix}Uplink network "${uplink}" doesn't contain "${subnet.address}/${subnet.prefix}" in its routes`;
    }
    return null;
  }
}
