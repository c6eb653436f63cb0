// Profiles: CRUD within the project that holds a request's profiles (the default project's when the requested
// project has features.profiles=false), with LXD's validation of config and devices and its lifecycle events.
import { Injectable } from '@nestjs/common';
import type { Profile, ProfilePut, ProfilesPost } from '@lxdts/api-types';
import type { Tx } from '@lxdts/raft-store';
import { type Identity, canAccessProject } from '../auth/identity.js';
import { EventsService } from '../events/events.service.js';
import { badRequest, conflict, forbidden, notFound } from '../http/api-error.js';
import { validateEntityName } from '../http/entity-name.js';
import { checkEtag } from '../http/etag.js';
import { apiUrl, projectOfUrl } from '../projects/api-url.js';
import type { ProjectRow } from '../projects/projects.repository.js';
import { ProjectsService } from '../projects/projects.service.js';
import { profileDevicesProblem } from './device-rules.js';
import { profileConfigProblem } from './profile-config.js';
import { type ProfileRow, ProfilesRepository } from './profiles.repository.js';
import { rootDiskChangeProblem } from './root-disk-guard.js';

/** Which fields a PATCH body carried (absent fields keep their value). */
export interface ProfilePatchPresence {
  description: boolean;
  config: boolean;
  devices: boolean;
}

/** The part of a profile its ETag covers, in LXD's order (so ETags match LXD's). */
export const profileEtag = (p: ProfilePut): unknown[] => [p.config, p.description, p.devices];

const DEFAULT_PROFILE = 'default';

@Injectable()
export class ProfilesService {
  constructor(
    private readonly repo: ProfilesRepository,
    private readonly projects: ProjectsService,
    private readonly events: EventsService,
  ) {}

  async list(projectName: string, identity: Identity, recursion: number): Promise<string[] | Profile[]> {
    const project = await this.projects.profileProject(projectName);
    const rows = await this.repo.list(project.id);
    if (recursion === 0) return rows.map((r) => apiUrl(['profiles', r.name], project.name));
    const usedBy = await this.repo.usedBy(rows.map((r) => r.id));
    return rows.map((r) => toApi(r, visible(identity, usedBy.get(r.id) ?? [])));
  }

  async get(projectName: string, name: string, identity: Identity): Promise<Profile> {
    const project = await this.projects.profileProject(projectName);
    const row = await this.repo.find(project.id, name);
    if (!row) throw notFound('Fetch profile: Profile not found');
    const usedBy = await this.repo.usedBy([row.id]);
    return toApi(row, visible(identity, usedBy.get(row.id) ?? []));
  }

  /** Creates a profile; returns its URL for the Location header. */
  async create(projectName: string, post: ProfilesPost, identity: Identity): Promise<string> {
    validateEntityName('profile', post.name);
    const put = withoutEmptyValues({ config: post.config, description: post.description, devices: post.devices });
    const project = await this.repo.transaction(async (tx) => {
      const project = await this.projects.profileProject(projectName, tx);
      await this.validate(project, 0, post.name, put, tx);
      if (await this.repo.exists(project.id, post.name, tx)) {
        throw conflict(`Error inserting "${post.name}" into database: The profile already exists`);
      }
      await this.repo.create(tx, project.id, post.name, put);
      return project;
    });
    const source = apiUrl(['profiles', post.name], project.name);
    this.events.lifecycle('profile-created', source, project.name, identity);
    return source;
  }

  /** PUT (all fields) or PATCH (present fields; config keys and whole devices merged). */
  async update(
    projectName: string,
    name: string,
    body: ProfilePut,
    presence: ProfilePatchPresence | null,
    ifMatch: string | undefined,
    identity: Identity,
  ): Promise<void> {
    const project = await this.repo.transaction(async (tx) => {
      const project = await this.projects.profileProject(projectName, tx);
      const current = await this.repo.find(project.id, name, tx);
      if (!current) throw notFound(presence ? `Failed to retrieve profile="${name}": Profile not found` : `Failed to retrieve profile "${name}": Profile not found`);
      checkEtag(ifMatch, profileEtag(current));
      const next = withoutEmptyValues(
        presence
          ? {
              config: presence.config ? { ...current.config, ...body.config } : current.config,
              description: presence.description ? body.description : current.description,
              devices: presence.devices ? { ...current.devices, ...body.devices } : current.devices,
            }
          : body,
      );
      await this.validate(project, current.id, name, next, tx);
      const rootProblem = rootDiskChangeProblem(current.id, current.devices, next.devices, await this.repo.dependents(current.id, tx));
      if (rootProblem) throw badRequest(rootProblem);
      await this.repo.replace(tx, current.id, next);
      return project;
    });
    this.events.lifecycle('profile-updated', apiUrl(['profiles', name], project.name), project.name, identity);
  }

  /** Renames a profile; returns its new URL for the Location header. */
  async rename(projectName: string, name: string, newName: string, identity: Identity): Promise<string> {
    if (name === DEFAULT_PROFILE) throw forbidden('The "default" profile cannot be renamed');
    validateEntityName('profile', newName);
    const project = await this.repo.transaction(async (tx) => {
      const project = await this.projects.profileProject(projectName, tx);
      if (await this.repo.find(project.id, newName, tx)) throw conflict(`Name "${newName}" already in use`);
      const current = await this.repo.find(project.id, name, tx);
      if (!current) throw notFound('Profile not found');
      await this.repo.rename(tx, current.id, newName);
      return project;
    });
    const source = apiUrl(['profiles', newName], project.name);
    this.events.lifecycle('profile-renamed', source, project.name, identity, { old_name: name });
    return source;
  }

  async delete(projectName: string, name: string, identity: Identity): Promise<void> {
    if (name === DEFAULT_PROFILE) throw forbidden('The "default" profile cannot be deleted');
    const project = await this.repo.transaction(async (tx) => {
      const project = await this.projects.profileProject(projectName, tx);
      const current = await this.repo.find(project.id, name, tx);
      if (!current) throw notFound('Profile not found');
      const usedBy = await this.repo.usedBy([current.id], tx);
      if ((usedBy.get(current.id) ?? []).length > 0) throw conflict('Profile is currently in use');
      await this.repo.delete(tx, current.id);
      return project;
    });
    this.events.lifecycle('profile-deleted', apiUrl(['profiles', name], project.name), project.name, identity);
  }

  /** Config keys, devices, and the project's limits and restrictions; bad input is a 400 and changes nothing. */
  private async validate(project: ProjectRow, id: number, name: string, put: ProfilePut, tx: Tx): Promise<void> {
    const configProblem = profileConfigProblem(put.config);
    if (configProblem) throw badRequest(configProblem);
    if (Object.keys(put.devices).length > 0) {
      // Pools and networks are only read when there are devices to check against them.
      const networkProject = await this.projects.networkProject(project, tx);
      const devicesProblem = profileDevicesProblem(put.devices, {
        pools: await this.repo.poolNames(tx),
        networks: await this.repo.networkTypes(networkProject.id, tx),
        networkProject: networkProject.name,
      });
      if (devicesProblem) throw badRequest(devicesProblem);
    }
    const limitsProblem = await this.projects.profileChangeProblem(project, { id, name, config: put.config, devices: put.devices }, tx);
    if (limitsProblem) throw badRequest(limitsProblem);
  }
}

/** An empty value means "unset" (LXD stores none), so drop them before validating and saving. */
function withoutEmptyValues(put: ProfilePut): ProfilePut {
  const clean = (m: Record<string, string>): Record<string, string> => Object.fromEntries(Object.entries(m).filter(([, v]) => v !== ''));
  const devices: ProfilePut['devices'] = {};
  for (const [name, device] of Object.entries(put.devices)) devices[name] = clean(device);
  return { config: clean(put.config), description: put.description, devices };
}

function toApi(row: ProfileRow, usedBy: string[]): Profile {
  return { config: row.config, description: row.description, devices: row.devices, name: row.name, used_by: usedBy };
}

/** A restricted client only sees the instances of its own projects in `used_by`. */
function visible(identity: Identity, urls: string[]): string[] {
  return identity.restricted ? urls.filter((u) => canAccessProject(identity, projectOfUrl(u))) : urls;
}
