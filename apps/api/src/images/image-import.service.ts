// Adding images: POST /1.0/images uploads (unified tarball or split metadata + rootfs) and, for publishing, any
// tarball already on disk. As LXD, the body is stored before the request is answered and the import itself runs in
// a "Downloading image" operation whose metadata ends up with the fingerprint and size.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Injectable } from '@nestjs/common';
import type { Image, ImageAlias, ImageType, ImagesPost, Operation } from '@lxdts/api-types';
import type { Identity } from '../auth/identity.js';
import { EventsService } from '../events/events.service.js';
import { ApiError, badRequest, notImplemented } from '../http/api-error.js';
import { array, boolean, object, optional, string, stringMap } from '../http/body-schema.js';
import { type RunningOperation, OperationsService } from '../operations/operations.service.js';
import { apiUrl } from '../projects/api-url.js';
import { architectureId } from './architectures.js';
import { detectFileFormat } from './compression.js';
import { toApiImage } from './image-api.js';
import { parseRequestTime, unixToIso } from './image-dates.js';
import { readImageFile } from './image-metadata.js';
import { ImageStore, type ImageFiles } from './image-store.js';
import { type StagedUpload, receiveUpload } from './image-upload.js';
import { IMAGE_TYPE_CODES, ImagesRepository } from './images.repository.js';
import { ImagesService } from './images.service.js';

/** Standalone daemons are member 1 ("none") of their own database. */
const LOCAL_NODE_ID = 1;

export type Headers = Record<string, string | string[] | undefined>;

export interface UploadRequest {
  project: string;
  body: AsyncIterable<Buffer> | undefined;
  headers: Headers;
  identity: Identity;
}

/** An image whose files are already staged (see `createStagingDir`), e.g. a freshly published instance. */
export interface ImportRequest {
  /** The requested project (its image store may be the default project's). */
  project: string;
  /** Moved into the image store on success. */
  files: ImageFiles;
  /** Type of a split image (from its rootfs part); unified tarballs say it themselves. */
  splitType?: ImageType;
  /** Expected fingerprint; a mismatch fails the import. */
  fingerprint?: string;
  /** Fingerprint and size already computed while the files were written (else the files are hashed). */
  hashed?: { fingerprint: string; size: number };
  filename: string;
  public?: boolean;
  autoUpdate?: boolean;
  /** Merged over the properties of metadata.yaml. */
  properties?: Record<string, string>;
  /** ISO date; default the metadata's expiry_date. */
  expiresAt?: string;
  aliases?: ImageAlias[];
  /** Profile names; default the project's "default" profile when it exists. */
  profiles?: string[];
  identity?: Identity;
  /** The operation reporting progress: gets `fingerprint` and `size` metadata as LXD's. */
  op?: RunningOperation;
}

/** Publishing an instance or snapshot (source type instance/container/virtual-machine/snapshot). */
export interface PublishContext {
  project: string;
  request: ImagesPost;
  /** Where the publisher writes the unified image tarball. */
  tarballPath: string;
  op: RunningOperation;
  identity: Identity;
}

export type ImagePublisher = (ctx: PublishContext) => Promise<void>;

const PUBLISH_SOURCES = ['instance', 'container', 'virtual-machine', 'snapshot'];
const SOURCE_TYPES = [...PUBLISH_SOURCES, 'image', 'url'];

const ImagesPostBody = object({
  auto_update: boolean,
  properties: stringMap,
  public: boolean,
  expires_at: string,
  profiles: array(string),
  filename: string,
  compression_algorithm: string,
  aliases: array(object({ name: string, description: string })),
  source: optional(
    object({
      type: string,
      name: string,
      alias: string,
      fingerprint: string,
      certificate: string,
      image_type: string,
      mode: string,
      project: string,
      protocol: string,
      secret: string,
      server: string,
      url: string,
    }),
  ),
});

function header(headers: Headers, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Go's shared.IsTrue. */
const isTrue = (v: string | undefined): boolean => ['true', '1', 'yes', 'on'].includes((v ?? '').toLowerCase());

/** X-LXD-properties: URL query strings; the first value of each key wins, as LXD. */
function headerProperties(headers: Headers): Record<string, string> {
  const raw = headers['x-lxd-properties'];
  const out: Record<string, string> = {};
  for (const value of Array.isArray(raw) ? raw : raw ? [raw] : []) {
    const params = new URLSearchParams(value);
    for (const key of new Set(params.keys())) out[key] = params.get(key)!;
  }
  return out;
}

async function sha256Files(paths: readonly string[]): Promise<{ fingerprint: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for (const path of paths) {
    for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
      hash.update(chunk);
      size += chunk.length;
    }
  }
  return { fingerprint: hash.digest('hex'), size };
}

@Injectable()
export class ImageImportService {
  private publisher: ImagePublisher | undefined;

  constructor(
    private readonly images: ImagesService,
    private readonly repo: ImagesRepository,
    private readonly store: ImageStore,
    private readonly operations: OperationsService,
    private readonly events: EventsService,
  ) {}

  /** Lets the instances code handle POST /1.0/images with an instance or snapshot source (lxc publish). */
  setPublisher(publisher: ImagePublisher): void {
    this.publisher = publisher;
  }

  /** A private folder next to the image files; what is staged there can be imported by rename. */
  createStagingDir(): Promise<string> {
    return this.store.createStagingDir();
  }

  /** POST /1.0/images: stores the body, then imports it in an operation. */
  async upload(req: UploadRequest): Promise<Operation> {
    const dir = await this.store.createStagingDir();
    let staged: StagedUpload;
    try {
      staged = await receiveUpload(req.body, header(req.headers, 'content-type'), dir);
      await this.images.imageProject(req.project);
      if (staged.kind === 'bad-json') throw badRequest(staged.message);
      if (staged.kind === 'json') {
        await this.store.removeStagingDir(dir);
        return this.fromJson(req, staged.body);
      }
    } catch (err) {
      await this.store.removeStagingDir(dir);
      throw err;
    }
    const upload = staged;
    return this.operations.start({
      class: 'task',
      description: 'Downloading image',
      project: req.project,
      run: async (op) => {
        try {
          await this.importUpload(req, upload, op);
        } finally {
          await this.store.removeStagingDir(dir);
        }
      },
    });
  }

  /** Imports a unified tarball staged on disk (what publishing produces). */
  importFromTarball(project: string, tarballPath: string, opts: Omit<ImportRequest, 'project' | 'files'>): Promise<Image> {
    return this.importFiles({ ...opts, project, files: { metadata: tarballPath } });
  }

  /** Validates staged files, moves them into the store and records the image. */
  async importFiles(req: ImportRequest): Promise<Image> {
    const target = await this.images.imageProject(req.project);
    const paths = req.files.rootfs ? [req.files.metadata, req.files.rootfs] : [req.files.metadata];
    const computed = req.hashed ?? (await sha256Files(paths));
    if (req.fingerprint && req.fingerprint !== computed.fingerprint) {
      throw badRequest(`fingerprints don't match, got ${computed.fingerprint} expected ${req.fingerprint}`);
    }
    const { fingerprint, size } = computed;

    const info = await readImageFile(req.files.metadata);
    let type: ImageType;
    if (req.files.rootfs) {
      type = req.splitType ?? 'container';
      const rootfsFormat = await detectFileFormat(req.files.rootfs);
      if ((type === 'virtual-machine') !== (rootfsFormat === 'qcow2')) {
        throw badRequest(`Unsupported rootfs format for a ${type} image: ${rootfsFormat}`);
      }
    } else {
      if (!info.type) throw badRequest('Image tarball has no rootfs');
      type = info.type;
    }
    const profileIds = req.profiles
      ? await this.images.profileIds(req.project, req.profiles)
      : await this.images.profileIds(req.project, ['default']).catch(() => []);

    const report = () => req.op?.updateMetadata({ fingerprint, size: String(size) });
    await this.images.locks.run(fingerprint, async () => {
      if (await this.repo.byFingerprint(target.id, fingerprint)) {
        report();
        throw badRequest('Image with same fingerprint already exists');
      }
      const created = await this.store.commit(fingerprint, req.files);
      try {
        await this.repo.insert({
          projectId: target.id,
          fingerprint,
          filename: req.filename,
          size,
          public: req.public ?? false,
          autoUpdate: req.autoUpdate ?? false,
          architecture: architectureId(info.metadata.architecture),
          type: IMAGE_TYPE_CODES[type],
          creationDate: unixToIso(info.metadata.creation_date),
          expiryDate: req.expiresAt ?? unixToIso(info.metadata.expiry_date),
          uploadDate: new Date().toISOString(),
          properties: { ...info.metadata.properties, ...req.properties },
          profileIds,
          nodeId: LOCAL_NODE_ID,
          aliases: req.aliases ?? [],
        });
      } catch (err) {
        await this.store.removePaths(created);
        throw err;
      }
    });
    report();
    this.events.lifecycle('image-created', apiUrl(['images', fingerprint], req.project), req.project, req.identity, { type });
    const row = await this.repo.byFingerprint(target.id, fingerprint);
    if (!row) throw new ApiError(500, 'Image vanished after import');
    return toApiImage(row);
  }

  private async importUpload(req: UploadRequest, upload: StagedUpload, op: RunningOperation): Promise<void> {
    if (upload.kind === 'invalid') throw badRequest(upload.message);
    if (upload.kind !== 'unified' && upload.kind !== 'split') return;
    const expected = header(req.headers, 'x-lxd-fingerprint');
    if (expected && expected !== upload.fingerprint) {
      throw badRequest(`fingerprints don't match, got ${upload.fingerprint} expected ${expected}`);
    }
    const common = {
      project: req.project,
      hashed: { fingerprint: upload.fingerprint, size: upload.size },
      public: isTrue(header(req.headers, 'x-lxd-public')),
      properties: headerProperties(req.headers),
      identity: req.identity,
      op,
    };
    if (upload.kind === 'unified') {
      await this.importFiles({ ...common, files: { metadata: upload.file.path }, filename: header(req.headers, 'x-lxd-filename') ?? '' });
    } else {
      await this.importFiles({
        ...common,
        files: { metadata: upload.metadata.path, rootfs: upload.rootfs.path },
        splitType: upload.rootfsPart === 'rootfs.img' ? 'virtual-machine' : 'container',
        filename: upload.rootfs.filename,
      });
    }
  }

  /** JSON bodies: only publishing (through the registered publisher) is handled; copies need image servers. */
  private async fromJson(req: UploadRequest, json: unknown): Promise<Operation> {
    const body = ImagesPostBody(json, '');
    const source = body.source;
    if (!source || !SOURCE_TYPES.includes(source.type)) throw new ApiError(500, 'Invalid images JSON');
    if (!PUBLISH_SOURCES.includes(source.type)) {
      throw notImplemented(`Image source type "${source.type}" is not supported yet`);
    }
    const publisher = this.publisher;
    if (!publisher) throw notImplemented('Publishing instances as images is not supported yet');
    const request: ImagesPost = { ...body, source };
    const expiresAt = parseRequestTime(body.expires_at, 'expires_at');
    return this.operations.start({
      class: 'task',
      description: 'Downloading image',
      project: req.project,
      run: async (op) => {
        const dir = await this.store.createStagingDir();
        try {
          const tarballPath = join(dir, 'image');
          await publisher({ project: req.project, request, tarballPath, op, identity: req.identity });
          await stat(tarballPath);
          await this.importFiles({
            project: req.project,
            files: { metadata: tarballPath },
            filename: body.filename,
            public: body.public,
            autoUpdate: body.auto_update,
            properties: body.properties,
            ...(expiresAt ? { expiresAt } : {}),
            aliases: body.aliases,
            identity: req.identity,
            op,
          });
        } finally {
          await this.store.removeStagingDir(dir);
        }
      },
    });
  }
}
