// `btrfs` storage pools: the dir layout (dir.storage.ts) on a btrfs file system, where every image, volume and
// snapshot is a subvolume:
//   images/<fingerprint>                       unpacked once per pool
//   containers/<name>                          a writable snapshot of the image (or of the volume copied)
//   containers-snapshots/<name>/<snapshot>     read-only snapshots
// Creating, copying, snapshotting and restoring are subvolume snapshots (constant time, blocks shared); removing is
// `btrfs subvolume delete` (the file system frees the blocks in the background). Root disk quotas are qgroup limits
// on the volume's referenced bytes, as LXD sets them.
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, lstatSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { AgentBackupExportRequest, AgentBackupImportRequest, AgentVolumeQuotaRequest, AgentVolumeRef } from '@lxdts/api-types';
import { badRequest, notFound } from '../errors.js';
import type { AgentLogger } from '../log.js';
import type { ProcessRunner } from '../process/run.js';
import { BtrfsCommands } from './btrfs-commands.js';
import { exportOptimized, importOptimized, type OptimizedBackupPaths } from './btrfs-optimized-backup.js';
import { BACKUP_COMPRESSORS, DirStorage, tmpSibling } from './dir.storage.js';

/** The inode number of every subvolume's root directory (BTRFS_FIRST_FREE_OBJECTID). */
const SUBVOLUME_ROOT_INODE = 256;

export class BtrfsStorage extends DirStorage {
  override readonly name: string = 'btrfs';
  protected override readonly keepsSpares: boolean = false;
  /** Mount points whose quotas (qgroups) are known to be on. */
  private readonly quotasOn = new Set<string>();
  private readonly subvolumes: BtrfsCommands;

  constructor(runner: ProcessRunner, log: AgentLogger, helper?: string | null) {
    super(runner, log);
    this.subvolumes = new BtrfsCommands(runner, helper);
  }

  protected override async newTree(path: string): Promise<void> {
    await this.subvolumes.create(path);
    chmodSync(path, 0o711);
  }

  /** A snapshot of `source` (a subvolume); read-only for snapshots, as LXD makes them. */
  protected override async cloneTree(source: string, path: string, readonly: boolean): Promise<void> {
    if (!isSubvolume(source)) {
      // Not a subvolume (a pool whose trees were made otherwise): a subvolume filled with a reflinked copy.
      await this.adoptCopy(source, path, readonly);
      return;
    }
    await this.subvolumes.snapshot(source, path, readonly);
    if (!readonly) chmodSync(path, 0o711);
  }

  /**
   * Makes a tree unpacked inside the pool a subvolume: a new subvolume filled with a reflinked copy (blocks shared,
   * only metadata written), the staged tree removed after.
   */
  protected override async adoptTree(staged: string, path: string, readonly: boolean): Promise<void> {
    await this.adoptCopy(staged, path, readonly);
    rmSync(staged, { recursive: true, force: true });
  }

  private async adoptCopy(source: string, path: string, readonly: boolean): Promise<void> {
    const tmp = join(dirname(path), `.${path.slice(dirname(path).length + 1)}.tmp-${randomBytes(4).toString('hex')}`);
    await this.subvolumes.create(tmp);
    try {
      await this.runner.run('cp', ['-a', '--reflink=always', `${source}/.`, tmp], { timeoutMs: 0 });
      chmodSync(tmp, 0o711);
      if (readonly) await this.subvolumes.setReadonly(tmp, true);
      renameSync(tmp, path);
    } catch (err) {
      await this.deleteSubvolume(tmp).catch(() => undefined);
      throw err;
    }
  }

  /** A subvolume, or a directory holding subvolumes (a volume's snapshots), or a plain directory. */
  protected override async removeTree(_poolSource: string, path: string, _label: string): Promise<void> {
    if (!existsSync(path)) return;
    if (isSubvolume(path)) {
      await this.deleteSubvolume(path);
      return;
    }
    if (lstatSync(path).isDirectory()) {
      for (const entry of readdirSync(path)) {
        const child = join(path, entry);
        if (isSubvolume(child)) await this.deleteSubvolume(child);
      }
    }
    rmSync(path, { recursive: true, force: true });
  }

  /** Deletes a subvolume and the subvolumes nested in it (a container that made its own), innermost first. */
  private async deleteSubvolume(path: string): Promise<void> {
    const r = await this.subvolumes.tryDelete(path);
    if (r.exitCode === 0) return;
    // Nested subvolumes keep it from going; a read-only one can't have its children removed until made writable.
    const nested = await this.runner.tryRun('find', [path, '-mindepth', '1', '-xdev', '-type', 'd', '-inum', String(SUBVOLUME_ROOT_INODE), '-prune'], {
      timeoutMs: 0,
    });
    const children = nested.stdout.split('\n').filter((l) => l !== '' && l !== path);
    if (children.length === 0) throw new Error(`Failed to delete subvolume "${path}": ${r.stderr.trim()}`);
    await this.subvolumes.setReadonly(path, false).catch(() => undefined);
    for (const child of children) await this.deleteSubvolume(child);
    await this.subvolumes.delete(path);
  }

  /** LXD's tarball of file trees, or with `optimized` its btrfs send streams (btrfs-optimized-backup.ts). */
  override async exportBackup(req: AgentBackupExportRequest): Promise<void> {
    if (!req.optimized) return super.exportBackup(req);
    const paths = this.backupPaths(req.volume);
    if (!existsSync(paths.volume)) throw notFound(`Volume "${req.volume.name}" not found`);
    for (const s of req.snapshots) if (!existsSync(paths.snapshot(s))) throw notFound(`Snapshot "${s}" not found`);
    if (!req.targetFile.startsWith('/') || req.targetFile.split('/').includes('..')) throw badRequest(`Target file path must be absolute: "${req.targetFile}"`);
    const compressor = BACKUP_COMPRESSORS[req.compression];
    if (compressor === undefined) throw badRequest(`Unsupported compression algorithm "${req.compression}"`);
    mkdirSync(dirname(req.targetFile), { recursive: true, mode: 0o700 });
    const staging = `${tmpSibling(req.targetFile)}.d`;
    const tmp = tmpSibling(req.targetFile);
    try {
      await exportOptimized(this.runner, this.subvolumes, paths, req, compressor, staging, tmp);
      renameSync(tmp, req.targetFile);
    } finally {
      rmSync(tmp, { force: true });
      rmSync(staging, { recursive: true, force: true });
    }
  }

  override async importBackup(req: AgentBackupImportRequest): Promise<void> {
    if (!req.optimized) return super.importBackup(req);
    const paths = this.backupPaths(req.volume);
    if (existsSync(paths.volume)) throw badRequest(`Volume "${req.volume.name}" already exists`);
    if (!req.file.startsWith('/') || !existsSync(req.file)) throw badRequest(`Backup file not found: "${req.file}"`);
    try {
      await importOptimized(this.runner, this.subvolumes, paths, req, (p) => this.removeTree(req.volume.poolSource, p, 'failed'));
    } catch (err) {
      if (existsSync(paths.snapshotsDir)) await this.removeTree(req.volume.poolSource, paths.snapshotsDir, 'failed');
      throw err;
    }
  }

  private backupPaths(volume: AgentVolumeRef): OptimizedBackupPaths {
    return { volume: this.volumePath(volume), snapshot: (s) => this.snapshotPath({ volume, snapshot: s }), snapshotsDir: this.snapshotsDir(volume) };
  }

  /** qgroup limit on the referenced bytes of the volume's subvolume; 0 removes the limit. */
  override async setQuota(req: AgentVolumeQuotaRequest): Promise<void> {
    const path = this.volumePath(req.volume);
    if (!existsSync(path)) throw notFound(`Volume "${req.volume.name}" not found`);
    if (!Number.isSafeInteger(req.size) || req.size < 0) throw badRequest(`Invalid size ${req.size}`);
    if (!isSubvolume(path)) throw badRequest(`Volume "${req.volume.name}" is not a subvolume`);
    if (req.size === 0 && !this.quotasOn.has(req.volume.poolSource)) {
      // Quotas off: there is no limit to remove.
      const show = await this.runner.tryRun('btrfs', ['qgroup', 'show', path], { timeoutMs: 0 });
      if (show.exitCode !== 0) return;
    }
    await this.enableQuotas(req.volume.poolSource);
    await this.btrfs(['qgroup', 'limit', req.size === 0 ? 'none' : String(req.size), path]);
  }

  private async enableQuotas(mountPoint: string): Promise<void> {
    if (this.quotasOn.has(mountPoint)) return;
    const show = await this.runner.tryRun('btrfs', ['qgroup', 'show', mountPoint], { timeoutMs: 0 });
    if (show.exitCode !== 0) {
      await this.btrfs(['quota', 'enable', mountPoint]);
      this.log.info(`Enabled btrfs quotas on ${mountPoint}`);
    }
    this.quotasOn.add(mountPoint);
  }

  private async btrfs(args: string[]): Promise<void> {
    await this.runner.run('btrfs', args, { timeoutMs: 0 });
  }
}

function isSubvolume(path: string): boolean {
  try {
    const st = statSync(path);
    return st.isDirectory() && st.ino === SUBVOLUME_ROOT_INODE;
  } catch {
    return false;
  }
}
