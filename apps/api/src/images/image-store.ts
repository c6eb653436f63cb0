// The image files on disk: $LXD_DIR/images/<fingerprint> (unified tarball or split metadata) and
// <fingerprint>.rootfs (split rootfs). Uploads are staged in lxdts_build_* directories of the same folder so that
// publishing a file is a rename.
import { chmod, mkdir, mkdtemp, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { DAEMON_PATHS } from '../daemon/tokens.js';
import type { DaemonPaths } from '../daemon/paths.js';

const STAGING_PREFIX = 'lxdts_build_';

export interface ImageFilePaths {
  metadata: string;
  rootfs: string;
}

export interface ImageFiles {
  metadata: string;
  rootfs?: string;
}

const exists = (path: string): Promise<boolean> =>
  stat(path).then(
    () => true,
    () => false,
  );

@Injectable()
export class ImageStore implements OnModuleInit {
  readonly dir: string;

  constructor(@Inject(DAEMON_PATHS) paths: DaemonPaths) {
    this.dir = join(paths.varDir, 'images');
  }

  async onModuleInit(): Promise<void> {
    await this.init();
  }

  /** Creates the folder and removes staging directories a previous daemon left behind. */
  async init(): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    for (const name of await readdir(this.dir)) {
      if (name.startsWith(STAGING_PREFIX)) await rm(join(this.dir, name), { recursive: true, force: true });
    }
  }

  paths(fingerprint: string): ImageFilePaths {
    const metadata = join(this.dir, fingerprint);
    return { metadata, rootfs: `${metadata}.rootfs` };
  }

  /** The files of an image, rootfs only for split images. */
  async files(fingerprint: string): Promise<ImageFiles> {
    const p = this.paths(fingerprint);
    return (await exists(p.rootfs)) ? p : { metadata: p.metadata };
  }

  async hasFiles(fingerprint: string): Promise<boolean> {
    return exists(this.paths(fingerprint).metadata);
  }

  /** A fresh private directory for an upload or a publish in progress. */
  async createStagingDir(): Promise<string> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    return mkdtemp(join(this.dir, STAGING_PREFIX));
  }

  async removeStagingDir(dir: string): Promise<void> {
    await rm(dir, { recursive: true, force: true });
  }

  /**
   * Moves staged files to their final names (mode 0600, atomic rename). Returns the paths that did not exist
   * before, which are what a failed import must remove again.
   */
  async commit(fingerprint: string, files: ImageFiles): Promise<string[]> {
    const target = this.paths(fingerprint);
    const created: string[] = [];
    const moves: [string, string][] = [[files.metadata, target.metadata]];
    if (files.rootfs) moves.push([files.rootfs, target.rootfs]);
    try {
      for (const [from, to] of moves) {
        const existed = await exists(to);
        await chmod(from, 0o600);
        await rename(from, to);
        if (!existed) created.push(to);
      }
    } catch (err) {
      await this.removePaths(created);
      throw err;
    }
    return created;
  }

  async removePaths(paths: readonly string[]): Promise<void> {
    for (const p of paths) await rm(p, { force: true });
  }

  async remove(fingerprint: string): Promise<void> {
    const p = this.paths(fingerprint);
    await this.removePaths([p.metadata, p.rootfs]);
  }
}
