// `dir` storage pools: plain directories in LXD's layout under the pool source.
//   images/<fingerprint>/{metadata.yaml,templates/,rootfs/}   unpacked once per pool
//   containers/<name>/{metadata.yaml,templates/,rootfs/}      a copy of the image per instance
// Files keep the image's ownership (host root); unprivileged containers see them through an idmapped mount.
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, lstatSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import type {
  AgentImageDeleteRequest,
  AgentImageUnpackRequest,
  AgentImageUnpackResult,
  AgentVolumeCopyRequest,
  AgentVolumeCreateRequest,
  AgentVolumeCreateResult,
  AgentVolumeDeleteRequest,
  AgentVolumeImageExportRequest,
  AgentVolumeImageExportResult,
  AgentVolumeRef,
  AgentVolumeRenameRequest,
} from '@lxdts/api-types';
import { badRequest, conflict, notFound } from '../errors.js';
import type { AgentLogger } from '../log.js';
import type { ProcessRunner } from '../process/run.js';
import { parseMetadata, stringifyMetadata } from '../templates/image-metadata.js';
import { ImagePacker, PACK_COMPRESSION } from './image-packer.js';
import { ImageUnpacker } from './image-unpacker.js';
import type { StorageDriver } from './storage-driver.js';

const VOLUME_TYPES = ['containers', 'custom'];
const VOLUME_NAME = /^[A-Za-z0-9][A-Za-z0-9_.+-]{0,254}$/;
const FINGERPRINT = /^[A-Za-z0-9]{1,128}$/;

export class DirStorage implements StorageDriver {
  readonly name = 'dir';
  private readonly unpacker: ImageUnpacker;
  private readonly packer: ImagePacker;

  constructor(
    private readonly runner: ProcessRunner,
    private readonly log: AgentLogger,
  ) {
    this.unpacker = new ImageUnpacker(runner);
    this.packer = new ImagePacker(runner);
  }

  imagePath(poolSource: string, fingerprint: string): string {
    checkPool(poolSource);
    if (!FINGERPRINT.test(fingerprint)) throw badRequest(`Invalid image fingerprint "${fingerprint}"`);
    return join(poolSource, 'images', fingerprint);
  }

  volumePath(v: AgentVolumeRef): string {
    checkPool(v.poolSource);
    if (!VOLUME_TYPES.includes(v.type)) throw badRequest(`Invalid volume type "${v.type}"`);
    if (!VOLUME_NAME.test(v.name)) throw badRequest(`Invalid volume name "${v.name}"`);
    return join(v.poolSource, v.type, v.name);
  }

  async unpackImage(req: AgentImageUnpackRequest): Promise<AgentImageUnpackResult> {
    const path = this.imagePath(req.poolSource, req.fingerprint);
    if (existsSync(path)) return { path, created: false };
    for (const f of [req.imageFile, req.rootfsFile]) {
      if (f !== undefined && !isAbsolute(f)) throw badRequest(`Image file path must be absolute: "${f}"`);
    }
    mkdirSync(join(req.poolSource, 'images'), { recursive: true, mode: 0o700 });
    // Unpack beside the target and rename it in place, so a half-unpacked image is never used.
    const tmp = tmpSibling(path);
    const started = performance.now();
    try {
      if (req.rootfsFile) await this.unpacker.unpackSplit(req.imageFile, req.rootfsFile, tmp);
      else await this.unpacker.unpack(req.imageFile, tmp, 'rootfs/');
      if (!existsSync(join(tmp, 'rootfs'))) throw badRequest(`Image "${req.fingerprint}" has no rootfs`);
      if (existsSync(path)) {
        rmSync(tmp, { recursive: true, force: true });
        return { path, created: false };
      }
      renameSync(tmp, path);
    } catch (err) {
      rmSync(tmp, { recursive: true, force: true });
      throw err;
    }
    this.log.info(`Unpacked image ${req.fingerprint} into ${path} in ${(performance.now() - started).toFixed(0)} ms`);
    return { path, created: true };
  }

  async deleteImage(req: AgentImageDeleteRequest): Promise<void> {
    rmSync(this.imagePath(req.poolSource, req.fingerprint), { recursive: true, force: true });
  }

  async createVolume(req: AgentVolumeCreateRequest): Promise<AgentVolumeCreateResult> {
    const path = this.volumePath(req.volume);
    if (existsSync(path)) throw conflict(`Volume "${req.volume.name}" already exists`);
    const typeDir = join(req.volume.poolSource, req.volume.type);
    mkdirSync(typeDir, { recursive: true, mode: 0o711 });
    const tmp = tmpSibling(path);
    try {
      if (req.fromImage) {
        const image = this.imagePath(req.volume.poolSource, req.fromImage.fingerprint);
        if (!existsSync(join(image, 'rootfs'))) throw notFound(`Image "${req.fromImage.fingerprint}" is not unpacked in this pool`);
        mkdirSync(tmp, { mode: 0o711 });
        // cp -a keeps owners, modes, links, devices and xattrs; --reflink=auto shares blocks where the fs can.
        await this.runner.run('cp', ['-a', '--reflink=auto', `${image}/.`, tmp], { timeoutMs: 30 * 60_000 });
        chmodSync(tmp, 0o711); // cp copied the image directory's mode onto it.
      } else {
        mkdirSync(tmp, { mode: 0o711 });
        if (req.volume.type === 'containers') mkdirSync(join(tmp, 'rootfs'), { mode: 0o755 });
      }
      renameSync(tmp, path);
    } catch (err) {
      rmSync(tmp, { recursive: true, force: true });
      throw err;
    }
    return { path, rootfsPath: join(path, 'rootfs') };
  }

  /** A new volume as a full copy of another (metadata.yaml, templates/, rootfs/), owners, modes and xattrs kept. */
  async copyVolume(req: AgentVolumeCopyRequest): Promise<AgentVolumeCreateResult> {
    const path = this.volumePath(req.volume);
    const source = this.volumePath(req.source);
    if (req.volume.type !== req.source.type) throw badRequest('Source and target volumes differ in type');
    if (!existsSync(source) || !lstatSync(source).isDirectory()) throw notFound(`Volume "${req.source.name}" not found`);
    if (existsSync(path)) throw conflict(`Volume "${req.volume.name}" already exists`);
    mkdirSync(join(req.volume.poolSource, req.volume.type), { recursive: true, mode: 0o711 });
    const tmp = tmpSibling(path);
    const started = performance.now();
    try {
      mkdirSync(tmp, { mode: 0o711 });
      await this.runner.run('cp', ['-a', '--reflink=auto', `${source}/.`, tmp], { timeoutMs: 0 });
      chmodSync(tmp, 0o711);
      renameSync(tmp, path);
    } catch (err) {
      rmSync(tmp, { recursive: true, force: true });
      throw err;
    }
    this.log.info(`Copied volume ${req.source.name} to ${req.volume.name} in ${(performance.now() - started).toFixed(0)} ms`);
    return { path, rootfsPath: join(path, 'rootfs') };
  }

  /** Packs a volume into a unified image tarball with a rewritten metadata.yaml (lxc publish). */
  async exportImage(req: AgentVolumeImageExportRequest): Promise<AgentVolumeImageExportResult> {
    const path = this.volumePath(req.volume);
    if (!isAbsolute(req.targetFile) || req.targetFile.split('/').includes('..')) {
      throw badRequest(`Target file path must be absolute: "${req.targetFile}"`);
    }
    if (!Object.hasOwn(PACK_COMPRESSION, req.compression)) throw badRequest(`Unsupported compression algorithm "${req.compression}"`);
    if (!existsSync(join(path, 'rootfs'))) throw notFound(`Volume "${req.volume.name}" not found`);
    const metadataFile = join(path, 'metadata.yaml');
    const current = existsSync(metadataFile)
      ? parseMetadata(readFileSync(metadataFile, 'utf8'))
      : { architecture: '', creation_date: 0, expiry_date: 0, properties: {}, templates: {} };
    const metadataYaml = stringifyMetadata({
      architecture: req.architecture,
      creation_date: req.creationDate,
      expiry_date: req.expiryDate,
      properties: req.properties ?? current.properties,
      templates: current.templates,
    });
    const started = performance.now();
    const r = await this.packer.pack({ volumePath: path, targetFile: req.targetFile, compression: req.compression, metadataYaml });
    this.log.info(`Packed volume ${req.volume.name} into an image (${req.compression}, ${r.size} bytes) in ${(performance.now() - started).toFixed(0)} ms`);
    return { ...r, metadataYaml };
  }

  async deleteVolume(req: AgentVolumeDeleteRequest): Promise<void> {
    const path = this.volumePath(req.volume);
    try {
      if (!lstatSync(path).isDirectory()) throw badRequest(`Volume path "${path}" is not a directory`);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    rmSync(path, { recursive: true, force: true });
  }

  async renameVolume(req: AgentVolumeRenameRequest): Promise<void> {
    const from = this.volumePath(req.volume);
    const to = this.volumePath({ ...req.volume, name: req.newName });
    if (!existsSync(from)) throw notFound(`Volume "${req.volume.name}" not found`);
    if (existsSync(to)) throw conflict(`Volume "${req.newName}" already exists`);
    renameSync(from, to);
  }
}

function checkPool(poolSource: string): void {
  if (!isAbsolute(poolSource) || poolSource.split('/').includes('..')) {
    throw badRequest(`Pool source must be an absolute path: "${poolSource}"`);
  }
  if (!existsSync(poolSource)) throw notFound(`Pool source "${poolSource}" doesn't exist`);
}

/** `<dir>/.<name>.tmp-<random>`: hidden, in the same file system, so the final rename is atomic. */
function tmpSibling(path: string): string {
  const slash = path.lastIndexOf('/');
  return `${path.slice(0, slash)}/.${path.slice(slash + 1)}.tmp-${randomBytes(4).toString('hex')}`;
}

