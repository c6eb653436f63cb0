// Image aliases: names pointing at an image of the same image store. Aliases of public images are visible to
// untrusted clients (that is how remote image servers are browsed).
import { Injectable } from '@nestjs/common';
import type { ImageAliasesEntry, ImageAliasesEntryPut, ImageAliasesPost } from '@lxdts/api-types';
import { type Identity, canAccessProject } from '../auth/identity.js';
import { EventsService } from '../events/events.service.js';
import { badRequest, conflict, notFound } from '../http/api-error.js';
import { checkEtag } from '../http/etag.js';
import { apiUrl } from '../projects/api-url.js';
import { toApiAlias } from './image-api.js';
import { type AliasRow, type ProjectRef, ImagesRepository } from './images.repository.js';
import { ImagesService } from './images.service.js';

const aliasUrl = (name: string, project: string): string => apiUrl(['images', 'aliases', name], project);

@Injectable()
export class ImageAliasesService {
  constructor(
    private readonly repo: ImagesRepository,
    private readonly images: ImagesService,
    private readonly events: EventsService,
  ) {}

  async list(project: string): Promise<ImageAliasesEntry[]> {
    const target = await this.images.imageProject(project);
    return (await this.repo.aliases(target.id)).map(toApiAlias);
  }

  /** URLs of the aliases, as LXD lists them (no project query). */
  async urls(project: string): Promise<string[]> {
    return (await this.list(project)).map((a) => apiUrl(['images', 'aliases', a.name]));
  }

  async get(project: string, name: string, identity: Identity): Promise<ImageAliasesEntry> {
    const alias = await this.find(await this.images.imageProject(project), name);
    if (!alias.imagePublic && !canAccessProject(identity, project)) throw notFound('Image alias not found');
    return toApiAlias(alias);
  }

  /** Creates an alias; returns its URL (the Location of the 201). */
  async create(project: string, req: ImageAliasesPost, identity: Identity): Promise<string> {
    if (req.name === '' || req.target === '') throw badRequest('name and target are required');
    const target = await this.images.imageProject(project);
    const image = await this.images.find(target, req.target);
    await this.repo.insertAlias(target.id, req.name, image.id, req.description);
    const url = aliasUrl(req.name, project);
    this.events.lifecycle('image-alias-created', url, project, identity, { target: image.fingerprint });
    return url;
  }

  /** PUT (present = null: `target` required) or PATCH (only the present fields). */
  async update(
    project: string,
    name: string,
    put: ImageAliasesEntryPut,
    present: ReadonlySet<string> | null,
    ifMatch: string | undefined,
    identity: Identity,
  ): Promise<void> {
    const target = await this.images.imageProject(project);
    const alias = await this.find(target, name);
    checkEtag(ifMatch, toApiAlias(alias));
    if (present === null && put.target === '') throw badRequest('The target field is required');
    const has = (key: string) => present === null || present.has(key);
    const image = has('target') ? await this.images.find(target, put.target) : undefined;
    const description = has('description') ? put.description : alias.description;
    await this.repo.updateAlias(alias.id, image?.id ?? alias.imageId, description);
    const fingerprint = image?.fingerprint ?? alias.fingerprint;
    this.events.lifecycle('image-alias-updated', aliasUrl(alias.name, project), project, identity, { target: fingerprint });
  }

  /** Renames an alias; returns its new URL. */
  async rename(project: string, name: string, newName: string, identity: Identity): Promise<string> {
    if (newName === '') throw badRequest('A new alias name is required');
    const target = await this.images.imageProject(project);
    // Same order of checks as LXD: a taken name wins over a missing alias.
    if (await this.repo.alias(target.id, newName)) throw conflict(`Alias "${newName}" already exists`);
    const alias = await this.find(target, name);
    await this.repo.renameAlias(target.id, alias.id, newName);
    const url = aliasUrl(newName, project);
    this.events.lifecycle('image-alias-renamed', url, project, identity, { old_name: name });
    return url;
  }

  async delete(project: string, name: string, identity: Identity): Promise<void> {
    const target = await this.images.imageProject(project);
    const alias = await this.find(target, name);
    await this.repo.deleteAlias(alias.id);
    this.events.lifecycle('image-alias-deleted', aliasUrl(alias.name, project), project, identity);
  }

  private async find(target: ProjectRef, name: string): Promise<AliasRow> {
    const alias = await this.repo.alias(target.id, name);
    if (!alias) throw notFound('Image alias not found');
    return alias;
  }
}
