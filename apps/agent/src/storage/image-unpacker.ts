// Unpacks LXD image files (tarballs with any of LXD's compressions, or squashfs) into a directory.
// Shared by the storage drivers; the caller chooses the target and makes it atomic.
import { closeSync, mkdirSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { badRequest } from '../errors.js';
import type { ProcessRunner } from '../process/run.js';

export type ImageFileFormat = 'squashfs' | 'tar' | 'tar.gz' | 'tar.xz' | 'tar.bz2' | 'tar.zst' | 'tar.lzma';

/** The format of an image file from its first bytes (LXD does the same: shared/archive DetectCompression). */
export function detectFormat(head: Buffer): ImageFileFormat | null {
  const starts = (...bytes: number[]) => bytes.every((b, i) => head[i] === b);
  if (starts(0x68, 0x73, 0x71, 0x73)) return 'squashfs'; // "hsqs"
  if (starts(0x1f, 0x8b)) return 'tar.gz';
  if (starts(0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00)) return 'tar.xz';
  if (starts(0x42, 0x5a, 0x68)) return 'tar.bz2'; // "BZh"
  if (starts(0x28, 0xb5, 0x2f, 0xfd)) return 'tar.zst';
  if (starts(0x5d, 0x00, 0x00)) return 'tar.lzma';
  if (head.length >= 262 && head.subarray(257, 262).toString('latin1') === 'ustar') return 'tar';
  return null;
}

export function detectFileFormat(file: string): ImageFileFormat | null {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    throw badRequest(`Image file "${file}" doesn't exist`);
  }
  try {
    const head = Buffer.alloc(512);
    const n = readSync(fd, head, 0, head.length, 0);
    return detectFormat(head.subarray(0, n));
  } finally {
    closeSync(fd);
  }
}

const TAR_COMPRESSION: Record<string, string[]> = {
  tar: [],
  'tar.gz': ['--gzip'],
  'tar.xz': ['--xz'],
  'tar.bz2': ['--bzip2'],
  'tar.zst': ['--zstd'],
  'tar.lzma': ['--lzma'],
};

export class ImageUnpacker {
  constructor(private readonly runner: ProcessRunner) {}

  /**
   * Extracts `file` into `target` (created). `devPrefix` names where device nodes would land (`rootfs/` for a
   * unified image, `` for a rootfs-only tarball): /dev stays empty, as LXD's unpack excludes it.
   */
  async unpack(file: string, target: string, devPrefix: string): Promise<ImageFileFormat> {
    const format = detectFileFormat(file);
    if (!format) throw badRequest(`Unsupported image format: "${file}"`);
    mkdirSync(target, { recursive: true, mode: 0o755 });
    if (format === 'squashfs') {
      await this.runner.run('unsquashfs', ['-f', '-n', '-d', target, file], { timeoutMs: 30 * 60_000 });
      return format;
    }
    await this.runner.run(
      'tar',
      [
        ...(TAR_COMPRESSION[format] ?? []),
        '-xf',
        file,
        '-C',
        target,
        '--numeric-owner',
        '--same-owner',
        '--preserve-permissions',
        '--xattrs',
        '--xattrs-include=*',
        '--anchored',
        '--wildcards',
        `--exclude=${devPrefix}dev/*`,
        `--exclude=./${devPrefix}dev/*`,
      ],
      { timeoutMs: 30 * 60_000 },
    );
    return format;
  }

  /** A split image: metadata tarball into `target`, the rootfs file into `target/rootfs`. */
  async unpackSplit(metadataFile: string, rootfsFile: string, target: string): Promise<void> {
    await this.unpack(metadataFile, target, 'rootfs/');
    await this.unpack(rootfsFile, join(target, 'rootfs'), '');
  }
}
