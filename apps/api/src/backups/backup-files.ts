// Backup tarballs as LXD writes them, for instances and custom volumes: the compression chosen, and
// backup/index.yaml read from a (compressed) tarball without unpacking it.
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { badRequest } from '../http/api-error.js';
import { detectFileFormat } from '../images/compression.js';
import { decompress } from '../images/decompress.js';
import { tarEntries } from '../images/tar-reader.js';

const COMPRESSIONS = ['none', 'gzip', 'bzip2', 'xz', 'lzma', 'zstd'];

/** LXD's choice: the request's algorithm, else the project's backups.compression_algorithm, else the server's, else gzip. */
export function backupCompression(requested: string, projectValue: string | undefined, serverValue: string | undefined): string {
  const algo = requested || projectValue || serverValue || 'gzip';
  if (!COMPRESSIONS.includes(algo)) throw badRequest(`Unsupported compression algorithm "${algo}" (supported: ${COMPRESSIONS.join(', ')})`);
  return algo;
}

/**
 * backup/index.yaml's text, read from the (compressed) tarball, and the owner of the first rootfs directory in it
 * (which tells whether the files are stored shifted by the container's id map, as LXD stores them).
 */
export async function readBackupHead(file: string): Promise<{ index: string; rootfsOwner: { uid: number; gid: number } | null }> {
  let index: string | null = null;
  try {
    for await (const entry of tarEntries(decompress(file, await detectFileFormat(file)))) {
      if (entry.name === 'backup/index.yaml') index = (await entry.read(4 * 1024 * 1024)).toString('utf8');
      else if (/^backup\/(container|snapshots\/[^/]+)\/rootfs\/?$/.test(entry.name)) {
        if (index === null) break;
        return { index, rootfsOwner: { uid: entry.uid, gid: entry.gid } };
      }
    }
  } catch (err) {
    throw badRequest(`Invalid backup file: ${(err as Error).message}`);
  }
  if (index === null) throw badRequest('Invalid backup file: no backup/index.yaml');
  return { index, rootfsOwner: null };
}

/** An uploaded tarball written to a private file in `dir` (`.import-<random>`); nothing is left when it fails. */
export async function stageUpload(body: Readable, dir: string): Promise<string> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const staging = join(dir, `.import-${randomBytes(6).toString('hex')}`);
  try {
    await pipeline(body, createWriteStream(staging, { mode: 0o600 }));
  } catch (err) {
    rmSync(staging, { force: true });
    throw err;
  }
  return staging;
}

/** A request header's first value, '' when absent. */
export function headerValue(headers: Record<string, string | string[] | undefined>, name: string): string {
  const v = headers[name];
  return (Array.isArray(v) ? v[0] : v) ?? '';
}

/** A YAML mapping of the index as string values (LXD writes numbers and booleans unquoted). */
export const stringValues = (v: unknown): Record<string, string> =>
  v && typeof v === 'object' ? Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, String(x)])) : {};
