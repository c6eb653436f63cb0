// POST /1.0/images. As LXD, the body is stored (and hashed) before the request is answered; the import itself runs
// in a "Downloading image" operation whose metadata ends up with the fingerprint and size. JSON bodies are image
// copies (not supported yet) or publishing an instance, which the instances code plugs in with `setPublisher`.
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Injectable } from '@nestjs/common';
import type { ImagesPost, Operation } from '@lxdts/api-types';
import type { Identity } from '../auth/identity.js';
import { badRequest, internalError, notImplemented } from '../http/api-error.js';
import { array, boolean, object, optional, string, stringMap } from '../http/body-schema.js';
import { type RunningOperation, OperationsService } from '../operations/operations.service.js';
import { parseRequestTime } from './image-dates.js';
import { ImageImportService } from './image-import.service.js';
import { type StagedUpload, receiveUpload } from './image-upload.js';
import { ImagesService } from './images.service.js';
import { type Headers, header, headerProperties, isTrue } from './upload-headers.js';

/** What an upload operation imports (or reports as invalid). */
type StagedImage = Exclude<StagedUpload, { kind: 'json' | 'bad-json' }>;

export interface UploadRequest {
  project: string;
  body: AsyncIterable<Buffer> | undefined;
  headers: Headers;
  identity: Identity;
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

@Injectable()
export class ImagesPostService {
  private publisher: ImagePublisher | undefined;

  constructor(
    private readonly images: ImagesService,
    private readonly imports: ImageImportService,
    private readonly operations: OperationsService,
  ) {}

  /** Lets the instances code handle POST /1.0/images with an instance or snapshot source (lxc publish). */
  setPublisher(publisher: ImagePublisher): void {
    this.publisher = publisher;
  }

  /** POST /1.0/images: stores the body, then imports it in an operation. */
  async upload(req: UploadRequest): Promise<Operation> {
    const dir = await this.imports.createStagingDir();
    let staged: StagedImage;
    try {
      const received = await receiveUpload(req.body, header(req.headers, 'content-type'), dir);
      await this.images.imageProject(req.project);
      if (received.kind === 'bad-json') throw badRequest(received.message);
      if (received.kind === 'json') {
        await this.imports.removeStagingDir(dir);
        return this.fromJson(req, received.body);
      }
      staged = received;
    } catch (err) {
      await this.imports.removeStagingDir(dir);
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
          await this.imports.removeStagingDir(dir);
        }
      },
    });
  }

  private async importUpload(req: UploadRequest, upload: StagedImage, op: RunningOperation): Promise<void> {
    if (upload.kind === 'invalid') throw badRequest(upload.message);
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
      const filename = header(req.headers, 'x-lxd-filename') ?? '';
      await this.imports.importFiles({ ...common, files: { metadata: upload.file.path }, filename });
    } else {
      await this.imports.importFiles({
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
    if (!source || !SOURCE_TYPES.includes(source.type)) throw internalError('Invalid images JSON');
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
        const dir = await this.imports.createStagingDir();
        try {
          const tarballPath = join(dir, 'image');
          await publisher({ project: req.project, request, tarballPath, op, identity: req.identity });
          await stat(tarballPath);
          await this.imports.importFiles({
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
          await this.imports.removeStagingDir(dir);
        }
      },
    });
  }
}
