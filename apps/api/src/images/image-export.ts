// The bytes of GET /1.0/images/{fingerprint}/export, streamed from the image files: the unified tarball as a file
// download, or a split image as multipart/form-data with parts "metadata" and "rootfs" (what the lxc client
// expects; it checks the sha256). Headers as LXD's response.FileResponse: Content-Length and
// `Content-Disposition: inline;filename=…` for one file; for two, Go's multipart.Writer framing with
// `Content-Transfer-Encoding: binary` and no length.
import { randomBytes } from 'node:crypto';
import { type FileHandle, open } from 'node:fs/promises';
import { Readable } from 'node:stream';
import type { RawResponse } from '../http/response.js';
import type { ImageExport } from './images.service.js';

export async function exportResponse(files: ImageExport): Promise<RawResponse> {
  // Both files are opened before answering: an image deleted meanwhile fails the request, not the stream.
  const metadata = await open(files.metadata.path, 'r');
  let rootfs: FileHandle | undefined;
  try {
    if (files.rootfs) rootfs = await open(files.rootfs.path, 'r');
    const st = await metadata.stat();
    if (!files.rootfs || !rootfs) {
      return {
        kind: 'raw',
        status: 200,
        contentType: 'application/octet-stream',
        body: metadata.createReadStream(),
        headers: {
          'content-length': String(st.size),
          'content-disposition': `inline;filename=${files.metadata.filename}`,
          'last-modified': st.mtime.toUTCString(),
        },
      };
    }
    const boundary = randomBytes(30).toString('hex');
    const parts = [
      { name: 'metadata', filename: files.metadata.filename, file: metadata },
      { name: files.rootfs.part, filename: files.rootfs.filename, file: rootfs },
    ];
    const body = Readable.from(multipart(boundary, parts));
    // Once the stream is finished or destroyed (client gone, even before the first read).
    body.once('close', () => {
      for (const part of parts) part.file.close().catch(() => undefined);
    });
    return {
      kind: 'raw',
      status: 200,
      contentType: `multipart/form-data; boundary=${boundary}`,
      body,
      headers: { 'content-transfer-encoding': 'binary' },
    };
  } catch (err) {
    await metadata.close();
    await rootfs?.close();
    throw err;
  }
}

interface Part {
  name: string;
  filename: string;
  file: FileHandle;
}

/** Go's multipart.Writer with CreateFormFile parts (the caller closes the handles). */
async function* multipart(boundary: string, parts: Part[]): AsyncGenerator<Buffer> {
  for (const [i, part] of parts.entries()) {
    yield Buffer.from(
      `${i === 0 ? '' : '\r\n'}--${boundary}\r\n` +
        `Content-Disposition: form-data; name="${part.name}"; filename="${part.filename}"\r\n` +
        'Content-Type: application/octet-stream\r\n\r\n',
    );
    for await (const chunk of part.file.createReadStream({ autoClose: false, start: 0 })) yield chunk as Buffer;
  }
  yield Buffer.from(`\r\n--${boundary}--\r\n`);
}
