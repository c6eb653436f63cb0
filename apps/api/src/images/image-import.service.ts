// Adding an image whose files are staged on disk: validation (metadata.yaml, formats), the move into the image store
// and the database rows, undone together when anything fails. Uploads (images-post.service.ts) and publishing
// (instances) both end here.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { Injectable } from '@nestjs/common';
import type { Image, ImageAlias, ImageType } from '@lxdts/api-types';
import type { Identity } from '../auth/identity.js';
import { EventsService } from '../events/events.service.js';
import { badRequest, internalError } from '../http/api-error.js';
import type { RunningOperation } from '../operations/operations.service.js';
import { apiUrl } from '../projects/api-url.js';
import { architectureId } from './architectures.js';
import { detectFileFormat } from './compression.js';
import { toApiImage } from './image-api.js';
import { unixToIso } from './image-dates.js';
import { readImageFile } from './image-metadata.js';
import { ImageStore, type ImageFiles } from './image-store.js';
import { IMAGE_TYPE_CODES, ImagesRepository } from './images.repository.js';
import { ImagesService } from './images.service.js';
import { localMember } from '../cluster/local-member.js';

/** Standalone daemons are member 1 ("none") of their own database. */

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
  constructor(
    private readonly images: ImagesService,
    private readonly repo: ImagesRepository,
    private readonly store: ImageStore,
    private readonly events: EventsService,
  ) {}

  /** A private folder next to the image files; what is staged there is imported by rename. */
  createStagingDir(): Promise<string> {
    return this.store.createStagingDir();
  }

  removeStagingDir(dir: string): Promise<void> {
    return this.store.removeStagingDir(dir);
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
          nodeId: localMember.nodeId,
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
    if (!row) throw internalError('Image vanished after import');
    return toApiImage(row);
  }
}
