// The image store as other code sees it: listing, lookup by fingerprint prefix or alias, edits, deletion, export,
// and what instance creation needs (resolve + markUsed). Imports live in image-import.service.ts.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { Inject, Injectable } from '@nestjs/common';
import type { ClusterRuntime } from '../cluster/cluster-runtime.js';
import { localMember } from '../cluster/local-member.js';
import { fetchMemberFile } from '../cluster/member-files.js';
import { CLUSTER_RUNTIME } from '../daemon/tokens.js';
import type { Image, ImagePut, Operation } from '@lxdts/api-types';
import { type Identity, canAccessProject } from '../auth/identity.js';
import { EventsService } from '../events/events.service.js';
import { badRequest, internalError, notFound } from '../http/api-error.js';
import { checkEtag } from '../http/etag.js';
import { matchesFilter, parseFilter } from '../http/filter.js';
import { OperationsService } from '../operations/operations.service.js';
import { apiUrl } from '../projects/api-url.js';
import { FORMAT_EXTENSIONS, type ImageFileFormat, detectFileFormat } from './compression.js';
import { imageEtag, toApiImage } from './image-api.js';
import { parseRequestTime } from './image-dates.js';
import { ImageStore } from './image-store.js';
import { type ImageRow, type ProjectRef, ImagesRepository } from './images.repository.js';
import { KeyedLock } from './keyed-lock.js';

/** An image ready to be unpacked into an instance. */
export interface ResolvedImage {
  image: Image;
  /** The project whose image store holds it (the default project unless the project has features.images). */
  project: string;
  /** The unified tarball or the split metadata tarball, and the split rootfs (null for unified images). */
  files: { metadata: string; rootfs: string | null };
  formats: { metadata: ImageFileFormat; rootfs: ImageFileFormat | null };
}

/** What an image edit may carry; `present` (PATCH) says which fields to apply, null (PUT) means all. */
export interface ImageEdit {
  put: Omit<ImagePut, 'profiles'> & { profiles: string[] | undefined };
  present: ReadonlySet<string> | null;
}

/** Files to send for GET /1.0/images/{fingerprint}/export. */
export interface ImageExport {
  fingerprint: string;
  metadata: { path: string; filename: string };
  rootfs: { path: string; filename: string; part: 'rootfs' | 'rootfs.img' } | null;
}

/** Called before an image's files are removed (e.g. to drop cached image volumes of storage pools). */
export type ImageDeleteHook = (fingerprint: string) => Promise<void>;

@Injectable()
export class ImagesService {
  /** Held while an image's files or rows change. */
  readonly locks = new KeyedLock();
  private readonly deleteHooks: ImageDeleteHook[] = [];

  constructor(
    private readonly repo: ImagesRepository,
    private readonly store: ImageStore,
    private readonly events: EventsService,
    private readonly operations: OperationsService,
    @Inject(CLUSTER_RUNTIME) private readonly cluster: ClusterRuntime,
  ) {}

  /**
   * Clustered, an image's files are on the members that imported or used it; a member about to use one it lacks
   * copies them from one that has them (checking the fingerprint) and records that it has them too, as LXD does.
   */
  async ensureLocalFiles(fingerprint: string): Promise<void> {
    if (!this.cluster.member.clustered || (await this.store.hasFiles(fingerprint))) return;
    const tls = this.cluster.tls!;
    const holders = (await this.repo.holders(fingerprint)).filter((h) => h.nodeId !== localMember.nodeId);
    const problems: string[] = [];
    for (const h of holders) {
      const dir = await this.store.createStagingDir();
      try {
        const base = `/internal/cluster/image-file?fingerprint=${encodeURIComponent(fingerprint)}&part=`;
        const metadata = join(dir, 'metadata');
        const rootfs = join(dir, 'rootfs');
        if (!(await fetchMemberFile(h.address, `${base}metadata`, metadata, tls))) throw new Error('no such image there');
        const split = await fetchMemberFile(h.address, `${base}rootfs`, rootfs, tls);
        const hash = createHash('sha256');
        for (const f of split ? [metadata, rootfs] : [metadata]) for await (const chunk of createReadStream(f)) hash.update(chunk as Buffer);
        if (hash.digest('hex') !== fingerprint) throw new Error('fingerprint mismatch');
        await this.store.commit(fingerprint, split ? { metadata, rootfs } : { metadata });
        await this.repo.addHolder(fingerprint, localMember.nodeId);
        return;
      } catch (err) {
        problems.push(`${h.name}: ${(err as Error).message}`);
      } finally {
        await this.store.removeStagingDir(dir);
      }
    }
    throw notFound(`Image "${fingerprint}" is not available on this member and could not be copied from another: ${problems.join('; ') || 'no member has it'}`);
  }

  /** The path of one of an image's files on this member (for another member copying it). */
  async localFile(fingerprint: string, part: 'metadata' | 'rootfs'): Promise<string | null> {
    const files = await this.store.files(fingerprint);
    const path = part === 'metadata' ? files.metadata : files.rootfs;
    return path && (await this.store.hasFiles(fingerprint)) ? path : null;
  }

  /** The project holding `project`'s images; 404 when `project` does not exist. */
  async imageProject(project: string): Promise<ProjectRef> {
    const ref = await this.repo.featureProject(project, 'features.images');
    if (!ref) throw notFound('Project not found');
    return ref;
  }

  /** Untrusted callers, and callers without access to the project, only see public images. */
  async list(project: string, identity: Identity, filter = ''): Promise<Image[]> {
    const expr = parseFilter(filter);
    const target = await this.imageProject(project);
    const all = canAccessProject(identity, project);
    return (await this.repo.list(target.id))
      .filter((row) => all || row.public)
      .map(toApiImage)
      .filter((img) => matchesFilter(img, expr));
  }

  async get(project: string, prefix: string, identity: Identity): Promise<Image> {
    const row = await this.find(await this.imageProject(project), prefix);
    if (!row.public && !canAccessProject(identity, project)) throw notFound(`Image "${row.fingerprint}" not found`);
    return toApiImage(row);
  }

  etagOf(image: Image): ImagePut {
    return imageEtag(image);
  }

  async update(project: string, prefix: string, edit: ImageEdit, ifMatch: string | undefined, identity: Identity): Promise<void> {
    const target = await this.imageProject(project);
    const row = await this.find(target, prefix);
    const current = toApiImage(row);
    checkEtag(ifMatch, imageEtag(current));
    const has = (key: string) => edit.present === null || edit.present.has(key);
    const { put } = edit;

    let profileIds: number[] | undefined;
    if (has('profiles')) profileIds = await this.profileIds(project, put.profiles ?? ['default']);
    const expiry = has('expires_at') ? parseRequestTime(put.expires_at, 'expires_at') : undefined;
    const properties = !has('properties')
      ? row.properties
      : edit.present === null
        ? put.properties
        : { ...row.properties, ...put.properties };

    await this.repo.update(row.id, {
      public: has('public') ? put.public : row.public,
      autoUpdate: has('auto_update') ? put.auto_update : row.autoUpdate,
      expiryDate: expiry ?? row.expiryDate,
      properties,
      ...(profileIds ? { profileIds } : {}),
    });
    this.events.lifecycle('image-updated', apiUrl(['images', row.fingerprint], project), project, identity);
  }

  /** Deletes in an operation, as LXD: files go only when no other project still holds the image. */
  async delete(project: string, prefix: string, identity: Identity): Promise<Operation> {
    const target = await this.imageProject(project);
    const { fingerprint } = await this.find(target, prefix);
    return this.operations.start({
      class: 'task',
      description: 'Deleting image',
      project,
      resources: { images: [`/1.0/images/${fingerprint}`] },
      run: async () => {
        await this.remove(target, fingerprint);
        this.events.lifecycle('image-deleted', apiUrl(['images', fingerprint], project), project, identity);
      },
    });
  }

  registerDeleteHook(hook: ImageDeleteHook): void {
    this.deleteHooks.push(hook);
  }

  async exportFiles(project: string, prefix: string, identity: Identity): Promise<ImageExport> {
    const image = await this.get(project, prefix, identity);
    const files = await this.store.files(image.fingerprint);
    const metaExt = await extensionOf(files.metadata);
    if (!files.rootfs) {
      // LXD 5.0.2 announces image-retrieved for unified images only.
      const requestor = identity.trusted ? identity : undefined;
      this.events.lifecycle('image-retrieved', apiUrl(['images', image.fingerprint], project), project, requestor);
      const metadata = { path: files.metadata, filename: image.fingerprint + metaExt };
      return { fingerprint: image.fingerprint, metadata, rootfs: null };
    }
    const rootExt = await extensionOf(files.rootfs);
    return {
      fingerprint: image.fingerprint,
      metadata: { path: files.metadata, filename: `meta-${image.fingerprint}${metaExt}` },
      rootfs: {
        path: files.rootfs,
        filename: image.fingerprint + rootExt,
        part: image.type === 'virtual-machine' ? 'rootfs.img' : 'rootfs',
      },
    };
  }

  /** Finds the image an instance is to be created from: by fingerprint (or unique prefix) or else by alias. */
  async resolve(project: string, ref: { alias?: string; fingerprint?: string }): Promise<ResolvedImage> {
    const target = await this.imageProject(project);
    let fingerprint = ref.fingerprint;
    if (!fingerprint && ref.alias) {
      const alias = await this.repo.alias(target.id, ref.alias);
      if (!alias) throw notFound('Image alias not found');
      fingerprint = alias.fingerprint;
    }
    if (!fingerprint) throw badRequest('No image alias or fingerprint given');
    const row = await this.find(target, fingerprint);
    await this.ensureLocalFiles(row.fingerprint);
    const files = await this.store.files(row.fingerprint);
    return {
      image: toApiImage(row),
      project: target.name,
      files: { metadata: files.metadata, rootfs: files.rootfs ?? null },
      formats: {
        metadata: await detectFileFormat(files.metadata),
        rootfs: files.rootfs ? await detectFileFormat(files.rootfs) : null,
      },
    };
  }

  /** Records that an instance was created from the image (last_used_at), in `project`'s store or everywhere. */
  async markUsed(fingerprint: string, project?: string): Promise<void> {
    const target = project === undefined ? undefined : await this.imageProject(project);
    await this.repo.touch(fingerprint, new Date().toISOString(), target?.id);
  }

  /** The single image of the project matching a fingerprint prefix, as LXD's lookups. */
  async find(target: ProjectRef, prefix: string): Promise<ImageRow> {
    if (prefix === '') throw notFound('Image not found');
    const rows = await this.repo.byPrefix(target.id, prefix);
    const exact = rows.find((r) => r.fingerprint === prefix.toLowerCase());
    if (exact) return exact;
    if (rows.length > 1) throw internalError('More than one image matches');
    if (!rows[0]) throw notFound('Image not found');
    return rows[0];
  }

  /** Ids of profiles of the project's profile store, in order; unknown names are a 400. */
  async profileIds(project: string, names: readonly string[]): Promise<number[]> {
    const profileProject = await this.repo.featureProject(project, 'features.profiles');
    if (!profileProject) throw notFound('Project not found');
    const ids = await this.repo.profileIds(profileProject.id, names);
    return names.map((name) => {
      const id = ids.get(name);
      if (id === undefined) throw badRequest(`Profile '${name}' doesn't exist`);
      return id;
    });
  }

  private async remove(target: ProjectRef, fingerprint: string): Promise<void> {
    await this.locks.run(fingerprint, async () => {
      const row = await this.repo.byFingerprint(target.id, fingerprint);
      if (!row) throw notFound('Image not found');
      const shared = (await this.repo.countByFingerprint(fingerprint)) > 1;
      if (!shared) for (const hook of this.deleteHooks) await hook(fingerprint);
      await this.repo.delete(row.id);
      if (!shared) await this.store.remove(fingerprint);
    });
  }
}

/** The export file extension of an image file; none when its format is unknown, as LXD. */
const extensionOf = (path: string): Promise<string> =>
  detectFileFormat(path).then(
    (format) => FORMAT_EXTENSIONS[format],
    () => '',
  );
