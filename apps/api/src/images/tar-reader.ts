// A minimal streaming tar reader (ustar, GNU long names, pax path/size records): enough to find metadata.yaml and
// the rootfs of an image without unpacking it. Entry contents are skipped unless read.
import { ByteReader } from './byte-reader.js';

const BLOCK = 512;

export type TarEntryType = 'file' | 'directory' | 'symlink' | 'hardlink' | 'other';

export interface TarEntry {
  /** Path as stored, without a leading "./". */
  name: string;
  type: TarEntryType;
  size: number;
  linkName: string;
  /** Numeric owner (pax uid/gid records win). */
  uid: number;
  gid: number;
  /** The entry's content; at most `limit` bytes may be asked for. Only callable before the next entry. */
  read(limit: number): Promise<Buffer>;
}

const TYPES: Readonly<Record<string, TarEntryType>> = {
  '0': 'file',
  '\0': 'file',
  '7': 'file',
  '5': 'directory',
  '2': 'symlink',
  '1': 'hardlink',
};

function cString(buf: Buffer): string {
  const nul = buf.indexOf(0);
  return buf.subarray(0, nul < 0 ? buf.length : nul).toString('utf8');
}

function octal(field: Buffer): number {
  // GNU base-256 for values that do not fit in octal digits.
  if (field[0]! & 0x80) {
    let n = field[0]! & 0x7f;
    for (let i = 1; i < field.length; i++) n = n * 256 + field[i]!;
    return n;
  }
  const text = cString(field).trim();
  return text === '' ? 0 : Number.parseInt(text, 8);
}

function checksumOk(header: Buffer): boolean {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : header[i]!;
  return sum === octal(header.subarray(148, 156));
}

/** pax extended header records: "<len> <key>=<value>\n". */
function paxRecords(data: Buffer): Map<string, string> {
  const out = new Map<string, string>();
  let pos = 0;
  while (pos < data.length) {
    const space = data.indexOf(0x20, pos);
    if (space < 0) break;
    const len = Number.parseInt(data.subarray(pos, space).toString('ascii'), 10);
    if (!Number.isFinite(len) || len <= 0) break;
    const record = data.subarray(space + 1, pos + len - 1).toString('utf8');
    const eq = record.indexOf('=');
    if (eq > 0) out.set(record.slice(0, eq), record.slice(eq + 1));
    pos += len;
  }
  return out;
}

const stripDot = (name: string): string => (name.startsWith('./') ? name.slice(2) : name);

/** Iterates the entries of an uncompressed tar stream. Stopping early is fine (the source is not drained). */
export async function* tarEntries(source: AsyncIterable<Buffer>): AsyncGenerator<TarEntry> {
  const iterator = source[Symbol.asyncIterator]();
  const reader = new ByteReader(iterator);
  let longName: string | undefined;
  let longLink: string | undefined;
  let pax = new Map<string, string>();
  try {
    for (;;) {
      const header = await reader.read(BLOCK);
      if (!header || header.every((b) => b === 0)) return;
      if (!checksumOk(header)) throw new Error('Invalid tar header: checksum mismatch');
      const flag = String.fromCharCode(header[156]!);
      let size = octal(header.subarray(124, 136));
      const padded = Math.ceil(size / BLOCK) * BLOCK;

      if (flag === 'L' || flag === 'K' || flag === 'x' || flag === 'g') {
        const data = (await reader.read(size)) ?? Buffer.alloc(0);
        await reader.skip(padded - size);
        if (flag === 'L') longName = cString(data);
        else if (flag === 'K') longLink = cString(data);
        else if (flag === 'x') pax = paxRecords(data);
        continue;
      }

      const prefix = header.subarray(257, 262).toString('ascii') === 'ustar' ? cString(header.subarray(345, 500)) : '';
      const shortName = cString(header.subarray(0, 100));
      let name = longName ?? pax.get('path') ?? (prefix ? `${prefix}/${shortName}` : shortName);
      const linkName = longLink ?? pax.get('linkpath') ?? cString(header.subarray(157, 257));
      const uid = pax.get('uid') !== undefined ? Number.parseInt(pax.get('uid')!, 10) : octal(header.subarray(108, 116));
      const gid = pax.get('gid') !== undefined ? Number.parseInt(pax.get('gid')!, 10) : octal(header.subarray(116, 124));
      const paxSize = pax.get('size');
      if (paxSize !== undefined) size = Number.parseInt(paxSize, 10);
      const dataBlocks = Math.ceil(size / BLOCK) * BLOCK;
      longName = longLink = undefined;
      pax = new Map();

      name = stripDot(name);
      const type = TYPES[flag] ?? 'other';
      let consumed = false;
      yield {
        name,
        type,
        size,
        linkName,
        uid,
        gid,
        read: async (limit) => {
          if (consumed) throw new Error(`tar entry ${name} was already read`);
          if (size > limit) throw new Error(`tar entry ${name} is larger than ${limit} bytes`);
          consumed = true;
          const data = (await reader.read(size)) ?? Buffer.alloc(0);
          await reader.skip(dataBlocks - size);
          return data;
        },
      };
      if (!consumed) await reader.skip(dataBlocks);
    }
  } finally {
    await iterator.return?.();
  }
}
