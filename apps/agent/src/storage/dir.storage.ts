// `dir` storage pools: plain directories in LXD's layout under the pool source.
//   images/<fingerprint>/{metadata.yaml,templates/,rootfs/}   unpacked once per pool
//   containers/<name>/{metadata.yaml,templates/,rootfs/}      a copy of the image per instance
//   images/.<fingerprint>.spare/                               the next instance's copy, made in the background
//   images/.trash/                                             deleted volumes, removed in the background
// Files keep the image's ownership (host root); unprivileged containers see them through an idmapped mount.
// A volume from an image is a rename of the spare when there is one (a copy is ~150 ms even for busybox's few
// hundred files); the next spare is copied right after, off the request path. Deleting a volume is a rename into
// the trash. Both hidden directories live under images/ (private, 0700): they are no volumes, and the pool's
// layout (the directories a dir pool's source may hold) stays as LXD's.
import { randomBytes } from 'node:crypto';
import { chmodSync, createReadStream, existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, rmdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import {
  type AgentImageDeleteRequest,
  type AgentImageUnpackRequest,
  type AgentImageUnpackResult,
  type AgentVolumeCopyRequest,
  type AgentVolumeCreateRequest,
  type AgentVolumeCreateResult,
  type AgentVolumeDeleteRequest,
  type AgentVolumeImageExportRequest,
  type AgentVolumeImageExportResult,
  type AgentVolumeRef,
  type AgentVolumeRenameRequest,
  stringifyImageMetadataYaml,
  type AgentBackupExportRequest,
  type AgentBackupImportRequest,
  type AgentSnapshotRenameRequest,
  type AgentSnapshotRequest,
  type AgentVolumeQuotaRequest,
  type AgentVolumeRefreshRequest,
  type AgentVolumeRefreshResult,
  type AgentVolumeUsageResult,
} from '@lxdts/api-types';
import { badRequest, conflict, notFound } from '../errors.js';
import type { AgentLogger } from '../log.js';
import type { ProcessRunner } from '../process/run.js';
import { parseVolumeMetadata } from '../templates/image-metadata.js';
import { ImagePacker, PACK_COMPRESSION } from './image-packer.js';
import { ImageUnpacker, detectFileFormat } from './image-unpacker.js';
import { type OwnerShift, shiftTarOwners } from './tar-owner-shift.js';
import type { StorageDriver } from './storage-driver.js';

const VOLUME_TYPES = ['containers', 'custom'];
/**
 * Compression program for tar per backups.compression_algorithm ('' : none). gzip is pigz when installed: the same
 * format, compressed on every core (an export is then faster than `tar | gzip`).
 */
export const BACKUP_COMPRESSORS: Record<string, string> = {
  none: '',
  gzip: existsSync('/usr/bin/pigz') ? 'pigz' : 'gzip',
  bzip2: 'bzip2',
  xz: 'xz',
  lzma: 'lzma',
  zstd: 'zstd',
};
const EXTRACT_FLAGS = ['--numeric-owner', '--xattrs', '--xattrs-include=*'];
/** How to decompress a tarball before its owners are moved (null: plain tar). */
const DECOMPRESSORS: Partial<Record<string, string[] | null>> = {
  tar: null,
  'tar.gz': ['gzip', '-dc'],
  'tar.xz': ['xz', '-dc'],
  'tar.bz2': ['bzip2', '-dc'],
  'tar.zst': ['zstd', '-dcq'],
  'tar.lzma': ['xz', '--format=lzma', '-dc'],
};
const VOLUME_NAME = /^[A-Za-z0-9][A-Za-z0-9_.+-]{0,254}$/;
const FINGERPRINT = /^[A-Za-z0-9]{1,128}$/;

/** The spare copy of one image in one pool: the copy under way, and a generation bumped when the image goes. */
interface SpareSlot {
  preparing: Promise<void> | null;
  generation: number;
  /** A spare could not be renamed into place (containers/ on another file system): no more spares then. */
  disabled: boolean;
}

/** Background removal of one pool's trash: one `rm` at a time; `again` when more arrived meanwhile. */
interface TrashWorker {
  again: boolean;
  /** When the first and the latest delete of this round arrived (ms). */
  first: number;
  last: number;
}

/**
 * The trash is emptied once deletes have stopped for this long (at most TRASH_MAX_WAIT_MS after the first): an `rm`
 * competing for the CPU with a burst of deletes or launches would slow exactly what the user waits for.
 */
const TRASH_QUIET_MS = 1_000;
const TRASH_MAX_WAIT_MS = 10_000;

export class DirStorage implements StorageDriver {
  readonly name: string = 'dir';
  /** Spare copies of images make creations fast where a copy is slow (dir); a driver that clones cheaply has none. */
  protected readonly keepsSpares: boolean = true;
  private readonly unpacker: ImageUnpacker;
  private readonly packer: ImagePacker;
  /** By image path (`<pool>/images/<fingerprint>`). */
  private readonly spares = new Map<string, SpareSlot>();
  /** By pool source. */
  private readonly trashWorkers = new Map<string, TrashWorker>();

  constructor(
    protected readonly runner: ProcessRunner,
    protected readonly log: AgentLogger,
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
      await this.adoptTree(tmp, path, false);
    } catch (err) {
      rmSync(tmp, { recursive: true, force: true });
      throw err;
    }
    this.log.info(`Unpacked image ${req.fingerprint} into ${path} in ${(performance.now() - started).toFixed(0)} ms`);
    return { path, created: true };
  }

  async deleteImage(req: AgentImageDeleteRequest): Promise<void> {
    const path = this.imagePath(req.poolSource, req.fingerprint);
    const slot = this.spares.get(path);
    if (slot) {
      slot.generation++;
      await slot.preparing;
      this.spares.delete(path);
    }
    for (const spare of this.spareEntries(req.poolSource, req.fingerprint)) rmSync(spare, { recursive: true, force: true });
    if (existsSync(path)) await this.removeTree(req.poolSource, path, `image.${req.fingerprint}`);
  }

  /** `images/.<fingerprint>.spare` */
  private sparePath(poolSource: string, fingerprint: string): string {
    return join(poolSource, 'images', `.${fingerprint}.spare`);
  }

  /** The spare and any half-made one (`.<fingerprint>.spare.tmp-*`, left by an agent that died copying). */
  private spareEntries(poolSource: string, fingerprint: string): string[] {
    const prefix = `.${fingerprint}.spare`;
    try {
      return readdirSync(join(poolSource, 'images'))
        .filter((e) => e === prefix || e.startsWith(`${prefix}.tmp-`))
        .map((e) => join(poolSource, 'images', e));
    } catch {
      return [];
    }
  }

  /**
   * Moves the image's spare copy to `target`; waits for one being copied (it is further along than a new copy
   * would be). false when there is none (or another volume took it first).
   */
  private async claimSpare(poolSource: string, fingerprint: string, image: string, target: string): Promise<boolean> {
    const slot = this.spares.get(image);
    await slot?.preparing;
    const spare = this.sparePath(poolSource, fingerprint);
    try {
      renameSync(spare, target);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      this.log.warn(`Could not use the spare copy of image ${fingerprint}; copying instead from now on: ${(err as Error).message}`);
      if (slot) slot.disabled = true;
      else this.spares.set(image, { preparing: null, generation: 0, disabled: true });
      rmSync(spare, { recursive: true, force: true });
      return false;
    }
  }

  /** Copies the image into its spare in the background, unless there is one or a copy is under way. */
  private prepareSpare(poolSource: string, fingerprint: string, image: string): void {
    if (!this.keepsSpares) return;
    let slot = this.spares.get(image);
    if (!slot) this.spares.set(image, (slot = { preparing: null, generation: 0, disabled: false }));
    const spare = this.sparePath(poolSource, fingerprint);
    if (slot.disabled || slot.preparing || existsSync(spare)) return;
    const s = slot;
    const generation = s.generation;
    const tmp = `${spare}.tmp-${randomBytes(4).toString('hex')}`;
    s.preparing = (async () => {
      await new Promise((resolve) => setImmediate(resolve)); // after the answer that used the last spare
      // Half-made spares of an agent that died while copying.
      for (const e of this.spareEntries(poolSource, fingerprint)) if (e !== spare) rmSync(e, { recursive: true, force: true });
      const started = performance.now();
      try {
        mkdirSync(tmp, { mode: 0o711 });
        // Not niced: the next creation may be waiting for it.
        await this.runner.run('cp', ['-a', '--reflink=auto', `${image}/.`, tmp], { timeoutMs: 0 });
        chmodSync(tmp, 0o711);
        // The image was deleted meanwhile (or its copy is gone): this copy is of no use.
        if (s.generation !== generation || !existsSync(join(image, 'rootfs'))) throw new Error('image deleted');
        renameSync(tmp, spare);
        this.log.debug(`Prepared a spare copy of image ${fingerprint} in ${(performance.now() - started).toFixed(0)} ms`);
      } catch (err) {
        rmSync(tmp, { recursive: true, force: true });
        if ((err as Error).message !== 'image deleted') this.log.warn(`Could not prepare a spare copy of image ${fingerprint}: ${(err as Error).message}`);
      }
    })().finally(() => {
      s.preparing = null;
    });
  }

  async createVolume(req: AgentVolumeCreateRequest): Promise<AgentVolumeCreateResult> {
    const path = this.volumePath(req.volume);
    if (existsSync(path)) throw conflict(`Volume "${req.volume.name}" already exists`);
    const typeDir = join(req.volume.poolSource, req.volume.type);
    mkdirSync(typeDir, { recursive: true, mode: 0o711 });
    // Pools made before custom/ became traversable (dir-pool.ts).
    if (req.volume.type === 'custom') chmodSync(typeDir, 0o711);
    const tmp = tmpSibling(path);
    try {
      if (req.fromImage) {
        const { fingerprint, imageFile, rootfsFile } = req.fromImage;
        const image = this.imagePath(req.volume.poolSource, fingerprint);
        if (imageFile !== undefined && !existsSync(image)) {
          await this.unpackImage({ poolSource: req.volume.poolSource, fingerprint, imageFile, ...(rootfsFile ? { rootfsFile } : {}) });
        }
        if (!existsSync(join(image, 'rootfs'))) throw notFound(`Image "${fingerprint}" is not unpacked in this pool`);
        if (this.keepsSpares && (await this.claimSpare(req.volume.poolSource, fingerprint, image, tmp))) renameSync(tmp, path);
        else await this.cloneTree(image, path, false);
        // The next volume's copy, now that this one's is done.
        this.prepareSpare(req.volume.poolSource, fingerprint, image);
        return { path, rootfsPath: join(path, 'rootfs') };
      }
      await this.newTree(tmp);
      if (req.volume.type === 'containers') mkdirSync(join(tmp, 'rootfs'), { mode: 0o755 });
      renameSync(tmp, path);
    } catch (err) {
      if (existsSync(tmp)) await this.removeTree(req.volume.poolSource, tmp, 'failed');
      throw err;
    }
    return { path, rootfsPath: join(path, 'rootfs') };
  }

  /** A new volume as a full copy of another (metadata.yaml, templates/, rootfs/), owners, modes and xattrs kept. */
  async copyVolume(req: AgentVolumeCopyRequest): Promise<AgentVolumeCreateResult> {
    const path = this.volumePath(req.volume);
    const source = req.sourceSnapshot === undefined ? this.volumePath(req.source) : this.snapshotPath({ volume: req.source, snapshot: req.sourceSnapshot });
    if (req.volume.type !== req.source.type) throw badRequest('Source and target volumes differ in type');
    if (!existsSync(source) || !lstatSync(source).isDirectory()) throw notFound(`Volume "${req.source.name}" not found`);
    if (existsSync(path)) throw conflict(`Volume "${req.volume.name}" already exists`);
    const snapshots = (req.snapshots ?? []).map((snapshot) => ({
      from: this.snapshotPath({ volume: req.source, snapshot }),
      to: this.snapshotPath({ volume: req.volume, snapshot }),
    }));
    for (const s of snapshots) if (!existsSync(s.from)) throw notFound(`Snapshot "${basename(s.from)}" of volume "${req.source.name}" not found`);
    mkdirSync(join(req.volume.poolSource, req.volume.type), { recursive: true, mode: 0o711 });
    const started = performance.now();
    // Snapshots first (oldest first, as given), the volume last; a failure takes back what was copied.
    try {
      for (const s of snapshots) {
        mkdirSync(dirname(s.to), { recursive: true, mode: 0o711 });
        await this.cloneTree(s.from, s.to, true);
      }
      await this.cloneTree(source, path, false);
    } catch (err) {
      const snapshotsDir = this.snapshotsDir(req.volume);
      if (existsSync(snapshotsDir)) await this.removeTree(req.volume.poolSource, snapshotsDir, 'failed');
      throw err;
    }
    this.log.info(`Copied volume ${req.source.name} to ${req.volume.name} in ${(performance.now() - started).toFixed(0)} ms`);
    return { path, rootfsPath: join(path, 'rootfs') };
  }

  /**
   * The missing snapshots cloned, then rsync of the volume's files: only missing or outdated ones (size and mtime
   * differ) are copied, whole, and files the source no longer has are deleted. Owners, modes, links, ACLs and
   * xattrs kept.
   */
  async refreshVolume(req: AgentVolumeRefreshRequest): Promise<AgentVolumeRefreshResult> {
    const path = this.volumePath(req.volume);
    const source = this.volumePath(req.source);
    if (req.volume.type !== req.source.type) throw badRequest('Source and target volumes differ in type');
    if (!existsSync(source)) throw notFound(`Volume "${req.source.name}" not found`);
    if (!existsSync(path)) throw notFound(`Volume "${req.volume.name}" not found`);
    if (path === source) throw badRequest('A volume cannot be refreshed from itself');
    const snapshots = req.snapshots.map((snapshot) => ({
      from: this.snapshotPath({ volume: req.source, snapshot }),
      to: this.snapshotPath({ volume: req.volume, snapshot }),
    }));
    for (const s of snapshots) {
      if (!existsSync(s.from)) throw notFound(`Snapshot "${basename(s.from)}" of volume "${req.source.name}" not found`);
      if (existsSync(s.to)) throw conflict(`Snapshot "${basename(s.to)}" of volume "${req.volume.name}" already exists`);
    }
    const started = performance.now();
    const copied: string[] = [];
    try {
      for (const s of snapshots) {
        mkdirSync(dirname(s.to), { recursive: true, mode: 0o711 });
        await this.cloneTree(s.from, s.to, true);
        copied.push(s.to);
      }
    } catch (err) {
      for (const to of copied) await this.removeTree(req.volume.poolSource, to, 'failed').catch(() => undefined);
      throw err;
    }
    const r = await this.runner.run('rsync', ['-aHAX', '--numeric-ids', '--delete', '--stats', `${source}/`, `${path}/`], { timeoutMs: 0 });
    const count = (label: string) => Number((new RegExp(`${label}: ([\\d,]+)`).exec(r.stdout)?.[1] ?? '0').replace(/,/g, ''));
    const result = { bytesTransferred: count('Total transferred file size'), filesTransferred: count('Number of regular files transferred') };
    this.log.info(
      `Refreshed volume ${req.volume.name} from ${req.source.name} (${snapshots.length} snapshots, ${result.filesTransferred} files, ${result.bytesTransferred} bytes) in ${(performance.now() - started).toFixed(0)} ms`,
    );
    return result;
  }

  /** A new, empty volume directory. */
  protected async newTree(path: string): Promise<void> {
    mkdirSync(path, { mode: 0o711 });
  }

  /** A tree unpacked or extracted inside the pool made the volume or snapshot `path`. */
  protected async adoptTree(staged: string, path: string, _readonly: boolean): Promise<void> {
    chmodSync(staged, 0o711);
    renameSync(staged, path);
  }

  /**
   * `source` copied to the new directory `path` (beside it first, then renamed in place: never half there).
   * `readonly`: a snapshot (dir snapshots are plain copies).
   */
  protected async cloneTree(source: string, path: string, _readonly: boolean): Promise<void> {
    const tmp = tmpSibling(path);
    try {
      mkdirSync(tmp, { mode: 0o711 });
      // cp -a keeps owners, modes, links, devices and xattrs; --reflink=auto shares blocks where the fs can.
      await this.runner.run('cp', ['-a', '--reflink=auto', `${source}/.`, tmp], { timeoutMs: 0 });
      chmodSync(tmp, 0o711);
      renameSync(tmp, path);
    } catch (err) {
      rmSync(tmp, { recursive: true, force: true });
      throw err;
    }
  }

  /** `<poolSource>/<type>-snapshots/<name>`: where a volume's snapshots live (LXD's layout). */
  protected snapshotsDir(v: AgentVolumeRef): string {
    this.volumePath(v); // Checks the reference.
    return join(v.poolSource, `${v.type}-snapshots`, v.name);
  }

  protected snapshotPath(req: AgentSnapshotRequest): string {
    if (!VOLUME_NAME.test(req.snapshot)) throw badRequest(`Invalid snapshot name "${req.snapshot}"`);
    return join(this.snapshotsDir(req.volume), req.snapshot);
  }

  async createSnapshot(req: AgentSnapshotRequest): Promise<void> {
    const source = this.volumePath(req.volume);
    const path = this.snapshotPath(req);
    if (!existsSync(source)) throw notFound(`Volume "${req.volume.name}" not found`);
    if (existsSync(path)) throw conflict(`Snapshot "${req.snapshot}" already exists`);
    mkdirSync(dirname(path), { recursive: true, mode: 0o711 });
    const started = performance.now();
    await this.cloneTree(source, path, true);
    this.log.info(`Snapshot ${req.volume.name}/${req.snapshot} taken in ${(performance.now() - started).toFixed(0)} ms`);
  }

  async deleteSnapshot(req: AgentSnapshotRequest): Promise<void> {
    const path = this.snapshotPath(req);
    if (!existsSync(path)) return;
    await this.removeTree(req.volume.poolSource, path, `snapshot.${req.volume.name}.${req.snapshot}`);
    // The instance's snapshot directory goes with its last snapshot.
    try {
      rmdirSync(dirname(path));
    } catch {
      // Other snapshots are left.
    }
  }

  async renameSnapshot(req: AgentSnapshotRenameRequest): Promise<void> {
    const from = this.snapshotPath(req);
    const to = this.snapshotPath({ ...req, snapshot: req.newName });
    if (!existsSync(from)) throw notFound(`Snapshot "${req.snapshot}" not found`);
    if (existsSync(to)) throw conflict(`Snapshot "${req.newName}" already exists`);
    renameSync(from, to);
  }

  async restoreSnapshot(req: AgentSnapshotRequest): Promise<void> {
    const path = this.volumePath(req.volume);
    const snapshot = this.snapshotPath(req);
    if (!existsSync(snapshot)) throw notFound(`Snapshot "${req.snapshot}" not found`);
    // The snapshot's copy is made beside the volume, then swapped in: a failed copy leaves the volume as it was.
    const restored = `${tmpSibling(path)}.restore`;
    await this.cloneTree(snapshot, restored, false);
    const old = tmpSibling(path);
    if (existsSync(path)) renameSync(path, old);
    renameSync(restored, path);
    if (existsSync(old)) await this.removeTree(req.volume.poolSource, old, `restored.${req.volume.name}`);
  }

  /** LXD's backup tarball of a volume and some of its snapshots (see AgentBackupExportRequest). */
  async exportBackup(req: AgentBackupExportRequest): Promise<void> {
    if (req.optimized) throw badRequest(`Optimized backups are not supported by the ${this.name} storage driver`);
    const path = this.volumePath(req.volume);
    if (!existsSync(path)) throw notFound(`Volume "${req.volume.name}" not found`);
    if (!isAbsolute(req.targetFile) || req.targetFile.split('/').includes('..')) throw badRequest(`Target file path must be absolute: "${req.targetFile}"`);
    const compressor = BACKUP_COMPRESSORS[req.compression];
    if (compressor === undefined) throw badRequest(`Unsupported compression algorithm "${req.compression}"`);
    const snapshots = req.snapshots.map((snapshot) => {
      const at = this.snapshotPath({ volume: req.volume, snapshot });
      if (!existsSync(at)) throw notFound(`Snapshot "${snapshot}" not found`);
      return snapshot;
    });
    mkdirSync(dirname(req.targetFile), { recursive: true, mode: 0o700 });
    const staging = `${tmpSibling(req.targetFile)}.d`;
    const tmp = tmpSibling(req.targetFile);
    mkdirSync(join(staging, 'backup'), { recursive: true, mode: 0o700 });
    try {
      writeFileSync(join(staging, 'backup', 'index.yaml'), req.indexYaml, { mode: 0o644 });
      // A custom volume's tarball has backup/volume and backup/volume-snapshots/, and no backup.yaml (LXD's).
      const custom = req.volume.type === 'custom';
      if (!custom) writeFileSync(join(staging, 'backup.yaml'), req.backupYaml, { mode: 0o400 });
      // Basic regular expressions: only the dot in a name needs escaping. `S`: symlink targets stay as they are.
      const re = (s: string) => s.replace(/\./g, '\\.');
      const snapshotsDir = `${req.volume.type}-snapshots/${req.volume.name}`;
      const maps = req.shift ? await this.ownerMaps(staging, [path, ...snapshots.map((snapshot) => this.snapshotPath({ volume: req.volume, snapshot }))], req.shift) : [];
      const args = [
        '-c',
        '-f',
        tmp,
        ...maps,
        '--numeric-owner',
        '--xattrs',
        '--xattrs-include=*',
        '--sparse',
        ...(compressor ? [`--use-compress-program=${compressor}`] : []),
        // The volume's directories under their names in the tarball; backup.yaml goes into the instance's.
        `--transform=s,^${re(snapshotsDir)}/,${custom ? 'backup/volume-snapshots/' : 'backup/snapshots/'},S`,
        `--transform=s,^${re(req.volume.type)}/${re(req.volume.name)},${custom ? 'backup/volume' : 'backup/container'},S`,
        '--transform=s,^backup\\.yaml$,backup/container/backup.yaml,S',
        '-C',
        staging,
        'backup/index.yaml',
        '-C',
        req.volume.poolSource,
        ...snapshots.map((s) => `${snapshotsDir}/${s}`),
        `${req.volume.type}/${req.volume.name}`,
        ...(custom ? [] : ['-C', staging, 'backup.yaml']),
      ];
      await this.runner.run('tar', args, { timeoutMs: 0 });
      renameSync(tmp, req.targetFile);
    } catch (err) {
      rmSync(tmp, { force: true });
      throw err;
    } finally {
      rmSync(staging, { recursive: true, force: true });
    }
  }

  async importBackup(req: AgentBackupImportRequest): Promise<void> {
    if (req.optimized) throw badRequest(`Optimized backups are not supported by the ${this.name} storage driver`);
    const path = this.volumePath(req.volume);
    if (existsSync(path)) throw conflict(`Volume "${req.volume.name}" already exists`);
    if (!isAbsolute(req.file) || !existsSync(req.file)) throw badRequest(`Backup file not found: "${req.file}"`);
    const snapshots = req.snapshots.map((snapshot) => ({ snapshot, to: this.snapshotPath({ volume: req.volume, snapshot }) }));
    mkdirSync(join(req.volume.poolSource, req.volume.type), { recursive: true, mode: 0o711 });
    const staging = `${tmpSibling(path)}.import`;
    mkdirSync(staging, { mode: 0o700 });
    try {
      const custom = req.volume.type === 'custom';
      const [main, snapshotsMember] = custom ? ['volume', 'volume-snapshots'] : ['container', 'snapshots'];
      const members = [`backup/${main}`, ...snapshots.map((s) => `backup/${snapshotsMember}/${s.snapshot}`)];
      if (req.unshift) await this.extractShifted(req.file, staging, members, req.unshift);
      // tar recognises the compression itself.
      else await this.runner.run('tar', ['-x', '-f', req.file, '-C', staging, ...EXTRACT_FLAGS, ...members], { timeoutMs: 0 });
      const container = join(staging, 'backup', main);
      if (!custom && !existsSync(join(container, 'rootfs'))) throw badRequest('Invalid backup: no backup/container/rootfs');
      if (custom && !existsSync(container)) throw badRequest('Invalid backup: no backup/volume');
      for (const s of snapshots) {
        mkdirSync(dirname(s.to), { recursive: true, mode: 0o711 });
        await this.adoptTree(join(staging, 'backup', snapshotsMember, s.snapshot), s.to, true);
      }
      await this.adoptTree(container, path, false);
    } catch (err) {
      const snapshotsDir = this.snapshotsDir(req.volume);
      if (existsSync(snapshotsDir)) await this.removeTree(req.volume.poolSource, snapshotsDir, 'failed');
      if (existsSync(path)) await this.removeTree(req.volume.poolSource, path, 'failed');
      throw err;
    } finally {
      rmSync(staging, { recursive: true, force: true });
    }
  }

  /** tar --owner-map/--group-map files moving every id found under `dirs` (and root's) up by the shift. */
  private async ownerMaps(staging: string, dirs: string[], shift: OwnerShift): Promise<string[]> {
    const found = await this.runner.run('find', [...dirs, '-printf', '%U %G\\n'], { timeoutMs: 0 });
    const uids = new Set<number>([0]);
    const gids = new Set<number>([0]);
    for (const line of found.stdout.split('\n')) {
      const [u, g] = line.split(' ').map(Number);
      if (Number.isInteger(u)) uids.add(u as number);
      if (Number.isInteger(g)) gids.add(g as number);
    }
    const map = (ids: Set<number>, base: number) =>
      [...ids].filter((id) => id < shift.range).map((id) => `+${id} +${id + base}\n`).join('');
    writeFileSync(join(staging, 'owner-map'), map(uids, shift.uid));
    writeFileSync(join(staging, 'group-map'), map(gids, shift.gid));
    return [`--owner-map=${join(staging, 'owner-map')}`, `--group-map=${join(staging, 'group-map')}`];
  }

  /** An LXD-made tarball (owners shifted by its id map) unpacked with its owners moved back (tar-owner-shift.ts). */
  private async extractShifted(file: string, into: string, members: string[], shift: OwnerShift): Promise<void> {
    const format = detectFileFormat(file);
    const decompressor = format ? DECOMPRESSORS[format] : undefined;
    if (decompressor === undefined) throw badRequest('Invalid backup file: unknown compression');
    const tar = this.runner.spawn('tar', ['-x', '-f', '-', '-C', into, ...EXTRACT_FLAGS, ...members]);
    let stderr = '';
    tar.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
    const unpack = decompressor ? this.runner.spawn(decompressor[0], decompressor.slice(1)) : null;
    const input = createReadStream(file);
    try {
      if (unpack) {
        unpack.stderr.resume();
        await Promise.all([pipeline(input, unpack.stdin), pipeline(unpack.stdout, shiftTarOwners(shift), tar.stdin)]);
      } else {
        await pipeline(input, shiftTarOwners(shift), tar.stdin);
      }
    } catch (err) {
      unpack?.kill('SIGKILL');
      tar.kill('SIGKILL');
      throw err;
    }
    const [code, unpacked] = await Promise.all([tar.exited, unpack ? unpack.exited : Promise.resolve(0)]);
    if (code !== 0 || unpacked !== 0) throw new Error(`Unpacking the backup failed: ${stderr.trim() || `tar exited ${code}`}`);
  }

  /**
   * Removes a volume, snapshot or image tree (or a directory of snapshots): moved to the pool's trash (emptied in
   * the background), or removed here when it can't.
   */
  protected async removeTree(poolSource: string, path: string, label: string): Promise<void> {
    const trash = join(poolSource, 'images', '.trash');
    try {
      mkdirSync(trash, { recursive: true, mode: 0o700 });
      renameSync(path, join(trash, `${label}.${randomBytes(4).toString('hex')}`));
    } catch (err) {
      // Another file system under the pool (EXDEV), or no images/ to put the trash in: remove it here.
      this.log.debug(`Removing ${path} in place: ${(err as Error).message}`);
      rmSync(path, { recursive: true, force: true });
      return;
    }
    this.emptyTrash(poolSource);
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
      ? parseVolumeMetadata(readFileSync(metadataFile, 'utf8'))
      : { architecture: '', creation_date: 0, expiry_date: 0, properties: {}, templates: {} };
    const metadataYaml = stringifyImageMetadataYaml({
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

  /** Renames the volume into the pool's trash (gone at once for everyone) and removes it in the background. */
  async deleteVolume(req: AgentVolumeDeleteRequest): Promise<void> {
    const path = this.volumePath(req.volume);
    const snapshots = this.snapshotsDir(req.volume);
    if (existsSync(snapshots)) await this.removeTree(req.volume.poolSource, snapshots, `${req.volume.type}-snapshots.${req.volume.name}`);
    try {
      if (!lstatSync(path).isDirectory()) throw badRequest(`Volume path "${path}" is not a directory`);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    await this.removeTree(req.volume.poolSource, path, `${req.volume.type}.${req.volume.name}`);
  }

  /** Removes what is in the pool's trash, in the background; one worker per pool. */
  private emptyTrash(poolSource: string): void {
    const running = this.trashWorkers.get(poolSource);
    if (running) {
      running.again = true;
      running.last = Date.now();
      return;
    }
    const worker: TrashWorker = { again: true, first: Date.now(), last: Date.now() };
    this.trashWorkers.set(poolSource, worker);
    const trash = join(poolSource, 'images', '.trash');
    void (async () => {
      while (worker.again) {
        // After the answers are on their way and the deletes have paused.
        for (;;) {
          const now = Date.now();
          const wait = Math.min(worker.last + TRASH_QUIET_MS, worker.first + TRASH_MAX_WAIT_MS) - now;
          if (wait <= 0) break;
          await new Promise((resolve) => setTimeout(resolve, wait));
        }
        worker.again = false;
        worker.first = worker.last = Date.now();
        let entries: string[] = [];
        try {
          entries = readdirSync(trash);
        } catch {
          break;
        }
        if (entries.length === 0) break;
        const r = await this.runner.tryRun('nice', ['-n', '10', 'rm', '-rf', '--one-file-system', '--', ...entries.map((e) => join(trash, e))], { timeoutMs: 0 });
        if (r.exitCode !== 0) {
          this.log.warn(`Could not empty the trash of pool ${poolSource}: ${r.stderr.trim()}`);
          break;
        }
      }
    })().finally(() => this.trashWorkers.delete(poolSource));
  }

  async volumeUsage(volume: AgentVolumeRef): Promise<AgentVolumeUsageResult> {
    const path = this.volumePath(volume);
    if (!existsSync(path)) throw notFound(`Volume "${volume.name}" not found`);
    // -x: not into other file systems (or a btrfs volume's nested subvolumes).
    const r = await this.runner.run('du', ['-s', '-x', '-B1', path], { timeoutMs: 0 });
    return { used: Number(r.stdout.split(/\s/)[0] ?? 0) || 0 };
  }

  /** dir pools have no quotas (LXD's needs project quotas, which this host's file systems lack): accepted, ignored. */
  async setQuota(req: AgentVolumeQuotaRequest): Promise<void> {
    this.volumePath(req.volume);
  }

  async renameVolume(req: AgentVolumeRenameRequest): Promise<void> {
    const from = this.volumePath(req.volume);
    const to = this.volumePath({ ...req.volume, name: req.newName });
    if (!existsSync(from)) throw notFound(`Volume "${req.volume.name}" not found`);
    if (existsSync(to)) throw conflict(`Volume "${req.newName}" already exists`);
    const snapshotsFrom = this.snapshotsDir(req.volume);
    const snapshotsTo = this.snapshotsDir({ ...req.volume, name: req.newName });
    if (existsSync(snapshotsTo)) throw conflict(`Snapshots of "${req.newName}" already exist`);
    renameSync(from, to);
    if (existsSync(snapshotsFrom)) renameSync(snapshotsFrom, snapshotsTo);
  }
}

function checkPool(poolSource: string): void {
  if (!isAbsolute(poolSource) || poolSource.split('/').includes('..')) {
    throw badRequest(`Pool source must be an absolute path: "${poolSource}"`);
  }
  if (!existsSync(poolSource)) throw notFound(`Pool source "${poolSource}" doesn't exist`);
}

/** `<dir>/.<name>.tmp-<random>`: hidden, in the same file system, so the final rename is atomic. */
export function tmpSibling(path: string): string {
  const slash = path.lastIndexOf('/');
  return `${path.slice(0, slash)}/.${path.slice(slash + 1)}.tmp-${randomBytes(4).toString('hex')}`;
}

