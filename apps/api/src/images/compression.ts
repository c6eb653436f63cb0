// What an image file is, from its first bytes (LXD's DetectCompression): the export file extension and how to read it.
import { open } from 'node:fs/promises';
import { badRequest } from '../http/api-error.js';

export type ImageFileFormat = 'tar' | 'gzip' | 'xz' | 'zstd' | 'bzip2' | 'lzma' | 'squashfs' | 'qcow2';

/** Extension LXD gives an exported file of each format. */
export const FORMAT_EXTENSIONS: Readonly<Record<ImageFileFormat, string>> = {
  tar: '.tar',
  gzip: '.tar.gz',
  xz: '.tar.xz',
  zstd: '.tar.zst',
  bzip2: '.tar.bz2',
  lzma: '.tar.lzma',
  squashfs: '.squashfs',
  qcow2: '.qcow2',
};

/** Enough bytes to see the ustar magic at offset 257. */
export const SNIFF_BYTES = 264;

const startsWith = (head: Buffer, magic: readonly number[], at = 0): boolean =>
  head.length >= at + magic.length && magic.every((b, i) => head[at + i] === b);

/** The format of a file whose first bytes are `head`; undefined when unknown. */
export function detectFormat(head: Buffer): ImageFileFormat | undefined {
  if (startsWith(head, [0x1f, 0x8b])) return 'gzip';
  if (startsWith(head, [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00])) return 'xz';
  if (startsWith(head, [0x28, 0xb5, 0x2f, 0xfd])) return 'zstd';
  if (startsWith(head, [0x42, 0x5a, 0x68])) return 'bzip2';
  if (startsWith(head, [0x5d, 0x00, 0x00])) return 'lzma';
  if (startsWith(head, [0x68, 0x73, 0x71, 0x73])) return 'squashfs';
  if (startsWith(head, [0x51, 0x46, 0x49, 0xfb])) return 'qcow2';
  if (startsWith(head, [0x75, 0x73, 0x74, 0x61, 0x72], 257)) return 'tar';
  return undefined;
}

/** Detects the format of a file; an empty file reads as Go's "EOF", an unknown one as LXD's message. */
export async function detectFileFormat(path: string): Promise<ImageFileFormat> {
  const fh = await open(path, 'r');
  try {
    const head = Buffer.alloc(SNIFF_BYTES);
    const { bytesRead } = await fh.read(head, 0, SNIFF_BYTES, 0);
    if (bytesRead === 0) throw badRequest('EOF');
    const format = detectFormat(head.subarray(0, bytesRead));
    if (!format) throw badRequest('Unsupported compression');
    return format;
  } finally {
    await fh.close();
  }
}
