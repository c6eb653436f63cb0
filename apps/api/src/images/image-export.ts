// The bytes of GET /1.0/images/{fingerprint}/export: the unified tarball as a file download, or a split image as
// multipart/form-data with parts "metadata" and "rootfs" (what the lxc client expects; it checks the sha256).
import { randomBytes } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import type { RawResponse } from '../http/response.js';
import type { ImageExport } from './images.service.js';

export async function exportResponse(files: ImageExport): Promise<RawResponse> {
  const modified = (await stat(files.metadata.path)).mtime.toUTCString();
  if (!files.rootfs) {
    return {
      kind: 'raw',
      status: 200,
      contentType: 'application/octet-stream',
      body: await readFile(files.metadata.path),
      headers: { 'content-disposition': `inline;filename=${files.metadata.filename}`, 'last-modified': modified },
    };
  }
  const boundary = randomBytes(30).toString('hex');
  const part = (name: string, filename: string): Buffer =>
    Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="${name}"; filename="${filename}"\r\n` +
        'Content-Type: application/octet-stream\r\n\r\n',
    );
  const body = Buffer.concat([
    part('metadata', files.metadata.filename),
    await readFile(files.metadata.path),
    Buffer.from('\r\n'),
    part(files.rootfs.part, files.rootfs.filename),
    await readFile(files.rootfs.path),
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  return { kind: 'raw', status: 200, contentType: `multipart/form-data; boundary=${boundary}`, body };
}
