// Packs an instance volume into a unified LXD image tarball (`lxc publish`): metadata.yaml first (so readers find
// it early), then rootfs/ and templates/. GNU tar writes (and compresses) to its stdout; we hash the bytes on their
// way to the target file, so the fingerprint costs no second read.
import { createHash } from 'node:crypto';
import { createWriteStream, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { AgentImageCompression } from '@lxdts/api-types';
import { AgentError, badRequest, conflict } from '../errors.js';
import type { ProcessRunner } from '../process/run.js';

/** tar's option for each compression LXD names (`compression_algorithm`, `images.compression_algorithm`). */
export const PACK_COMPRESSION: Readonly<Record<AgentImageCompression, string[]>> = {
  none: [],
  gzip: ['--gzip'],
  bzip2: ['--bzip2'],
  xz: ['--xz'],
  lzma: ['--lzma'],
  zstd: ['--zstd'],
};

export interface PackRequest {
  /** The volume directory: holds rootfs/ and maybe templates/. */
  volumePath: string;
  /** Created exclusively, mode 0600. */
  targetFile: string;
  compression: AgentImageCompression;
  /** The metadata.yaml to put into the tarball. */
  metadataYaml: string;
  timeoutMs?: number;
}

export class ImagePacker {
  constructor(private readonly runner: ProcessRunner) {}

  async pack(req: PackRequest): Promise<{ size: number; sha256: string }> {
    const flags = PACK_COMPRESSION[req.compression];
    if (!flags) throw badRequest(`Unsupported compression algorithm "${req.compression}"`);
    if (!existsSync(join(req.volumePath, 'rootfs'))) throw badRequest(`Volume "${req.volumePath}" has no rootfs`);
    if (existsSync(req.targetFile)) throw conflict(`"${req.targetFile}" already exists`);
    const metaDir = mkdtempSync(join(tmpdir(), 'lxdts-publish-'));
    try {
      writeFileSync(join(metaDir, 'metadata.yaml'), req.metadataYaml, { mode: 0o644 });
      const parts = ['rootfs', ...(existsSync(join(req.volumePath, 'templates')) ? ['templates'] : [])];
      const args = [
        '--create',
        '--file=-',
        ...flags,
        '--numeric-owner',
        '--sparse',
        '--xattrs',
        '--xattrs-include=*',
        // --xattrs makes the archive POSIX (pax); as Go's tar writer in LXD, whole-second times and extended
        // headers only where needed (xattrs, long names), not one per file.
        '--pax-option=delete=atime,delete=ctime,delete=mtime',
        '-C',
        metaDir,
        'metadata.yaml',
        '-C',
        req.volumePath,
        ...parts,
      ];
      const child = this.runner.spawn('tar', args, { timeoutMs: req.timeoutMs ?? 0 });
      child.stdin.end();
      let stderr = '';
      child.stderr.on('data', (c: Buffer) => {
        if (stderr.length < 64 * 1024) stderr += c.toString('utf8');
      });
      const hash = createHash('sha256');
      let size = 0;
      const tap = new Transform({
        transform(chunk: Buffer, _enc, done) {
          hash.update(chunk);
          size += chunk.length;
          done(null, chunk);
        },
      });
      try {
        await pipeline(child.stdout, tap, createWriteStream(req.targetFile, { flags: 'wx', mode: 0o600 }));
      } catch (err) {
        child.kill();
        await child.exited;
        throw err;
      }
      const code = await child.exited;
      // GNU tar exits 1 when files changed while being read (a running source): the tarball is still complete.
      if (code !== 0 && !(code === 1 && /file changed as we read it/.test(stderr))) {
        throw new AgentError('internal', `Failed to pack the image: tar exited with ${code}${stderr.trim() ? `: ${stderr.trim()}` : ''}`);
      }
      return { size, sha256: hash.digest('hex') };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') rmSync(req.targetFile, { force: true });
      throw err;
    } finally {
      rmSync(metaDir, { recursive: true, force: true });
    }
  }
}
