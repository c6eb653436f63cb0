// Receives the body of POST /1.0/images into a staging directory while hashing it: a raw image (unified tarball),
// a multipart split image (parts "metadata" then "rootfs" or "rootfs.img"), or a JSON request. The body is always
// read to its end, so the client gets an answer even when the content is rejected.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { badRequest } from '../http/api-error.js';
import { type PartSink, multipartBoundary, readMultipart } from './multipart-reader.js';
import { StagedFileWriter } from './staged-file.js';

/** JSON requests are small; anything larger is taken as an image. */
const MAX_JSON_BYTES = 8 * 1024 * 1024;

export interface StagedPart {
  path: string;
  size: number;
  /** Client-side file name (multipart parts only). */
  filename: string;
}

export type StagedUpload =
  | { kind: 'json'; body: unknown }
  /** A body declared as JSON that does not parse: a 400 for the request itself. */
  | { kind: 'bad-json'; message: string }
  | { kind: 'unified'; file: StagedPart; fingerprint: string; size: number }
  | {
      kind: 'split';
      metadata: StagedPart;
      rootfs: StagedPart;
      rootfsPart: 'rootfs' | 'rootfs.img';
      fingerprint: string;
      size: number;
    }
  /** The content is not an acceptable image; LXD reports this through the operation, not the request. */
  | { kind: 'invalid'; message: string };

type Chunks = AsyncIterator<Buffer>;

const emptyChunks = (): Chunks => ({ next: async () => ({ done: true, value: undefined }) });

async function drain(chunks: Chunks): Promise<void> {
  try {
    while (!(await chunks.next()).done);
  } catch {
    // The client went away; nothing left to answer.
  }
}

/** System errors (disk full, client gone) fail the request; anything else is a content error. */
const isSystemError = (err: unknown): boolean => typeof (err as { code?: unknown })?.code === 'string';

export async function receiveUpload(
  body: AsyncIterable<Buffer> | undefined,
  contentType: string | undefined,
  dir: string,
): Promise<StagedUpload> {
  const chunks = body ? body[Symbol.asyncIterator]() : emptyChunks();
  const boundary = multipartBoundary(contentType);
  try {
    return boundary !== undefined ? await receiveSplit(chunks, boundary, dir) : await receiveRaw(chunks, contentType, dir);
  } catch (err) {
    await drain(chunks);
    if (isSystemError(err)) throw err;
    return { kind: 'invalid', message: (err as Error).message };
  }
}

async function receiveRaw(chunks: Chunks, contentType: string | undefined, dir: string): Promise<StagedUpload> {
  const hash = createHash('sha256');
  const file = await StagedFileWriter.create(join(dir, 'upload'), hash);
  let first: number | undefined;
  try {
    for (let next = await chunks.next(); !next.done; next = await chunks.next()) {
      if (first === undefined) {
        const at = next.value.findIndex((b) => b !== 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d);
        if (at >= 0) first = next.value[at];
      }
      await file.write(next.value);
    }
    await file.end();
  } catch (err) {
    await file.abort();
    throw err;
  }
  const json = await maybeJson(file.path, file.bytes, first, contentType);
  if (json !== undefined) return json;
  const fingerprint = hash.digest('hex');
  return { kind: 'unified', file: { path: file.path, size: file.bytes, filename: '' }, fingerprint, size: file.bytes };
}

/** LXD tries every body as JSON first; only a body declared as JSON that does not parse is an error. */
async function maybeJson(
  path: string,
  size: number,
  first: number | undefined,
  contentType: string | undefined,
): Promise<StagedUpload | undefined> {
  const declared = /^application\/json\s*(;|$)/i.test(contentType?.trim() ?? '');
  if (size > MAX_JSON_BYTES) return declared ? { kind: 'bad-json', message: 'Request body is too large' } : undefined;
  if (!declared && first !== 0x7b) return undefined;
  const text = (await readFile(path)).toString('utf8');
  try {
    return { kind: 'json', body: JSON.parse(text) as unknown };
  } catch (err) {
    return declared ? { kind: 'bad-json', message: (err as Error).message } : undefined;
  }
}

async function receiveSplit(chunks: Chunks, boundary: string, dir: string): Promise<StagedUpload> {
  const hash = createHash('sha256');
  const writers: StagedFileWriter[] = [];
  const filenames: string[] = [];
  let rootfsPart: 'rootfs' | 'rootfs.img' = 'rootfs';
  const open = async (part: { name: string; filename: string }, index: number): Promise<PartSink> => {
    if (index === 0 && part.name !== 'metadata') throw badRequest('Invalid multipart image');
    if (index === 1) {
      if (part.name !== 'rootfs' && part.name !== 'rootfs.img') throw badRequest('Invalid multipart image');
      rootfsPart = part.name;
    }
    if (index > 1) return { write: async () => undefined, end: async () => undefined };
    const writer = await StagedFileWriter.create(join(dir, index === 0 ? 'metadata' : 'rootfs'), hash);
    writers.push(writer);
    filenames.push(part.filename);
    return writer;
  };
  try {
    const parts = await readMultipart(chunks, boundary, open);
    if (parts < 2) throw badRequest('Invalid multipart image');
  } catch (err) {
    for (const w of writers) await w.abort();
    throw err;
  }
  const [meta, rootfs] = writers as [StagedFileWriter, StagedFileWriter];
  return {
    kind: 'split',
    metadata: { path: meta.path, size: meta.bytes, filename: filenames[0] ?? '' },
    rootfs: { path: rootfs.path, size: rootfs.bytes, filename: filenames[1] ?? '' },
    rootfsPart,
    fingerprint: hash.digest('hex'),
    size: meta.bytes + rootfs.bytes,
  };
}
