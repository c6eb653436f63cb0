// Builders for image files in unit tests: ustar archives written byte by byte (no tar binary needed) and small
// unified or split images around them.
import { execFileSync } from 'node:child_process';
import { gzipSync } from 'node:zlib';

export interface FixtureEntry {
  name: string;
  content?: string | Buffer;
  type?: 'file' | 'directory' | 'symlink';
  linkName?: string;
}

const BLOCK = 512;

function field(buf: Buffer, offset: number, length: number, value: string): void {
  buf.write(value.slice(0, length), offset, length, 'utf8');
}

const octal = (n: number, width: number): string => n.toString(8).padStart(width - 1, '0') + '\0';

function header(name: string, size: number, flag: string, linkName = ''): Buffer {
  const h = Buffer.alloc(BLOCK);
  field(h, 0, 100, name);
  field(h, 100, 8, octal(flag === '5' ? 0o755 : 0o644, 8));
  field(h, 108, 8, octal(0, 8));
  field(h, 116, 8, octal(0, 8));
  field(h, 124, 12, octal(size, 12));
  field(h, 136, 12, octal(1700000000, 12));
  h.fill(0x20, 148, 156);
  h.write(flag, 156, 1, 'latin1');
  field(h, 157, 100, linkName);
  field(h, 257, 6, 'ustar\0');
  field(h, 263, 2, '00');
  let sum = 0;
  for (const b of h) sum += b;
  field(h, 148, 8, sum.toString(8).padStart(6, '0') + '\0 ');
  return h;
}

const pad = (data: Buffer): Buffer => Buffer.concat([data, Buffer.alloc((BLOCK - (data.length % BLOCK)) % BLOCK)]);

/** A tar archive; names longer than 100 bytes get a GNU "L" record, or a pax header with `pax: true`. */
export function tarBytes(entries: readonly FixtureEntry[], opts: { pax?: boolean } = {}): Buffer {
  const blocks: Buffer[] = [];
  for (const e of entries) {
    const data = Buffer.from(e.content ?? '');
    const flag = e.type === 'directory' ? '5' : e.type === 'symlink' ? '2' : '0';
    let name = e.name;
    if (Buffer.byteLength(name) > 100) {
      if (opts.pax) {
        const body = (len: number) => `${len} path=${name}\n`;
        let len = body(0).length;
        while (body(len).length !== len) len = body(len).length;
        const record = Buffer.from(body(len));
        blocks.push(header('PaxHeaders/x', record.length, 'x'), pad(record));
      } else {
        const longName = Buffer.from(name + '\0');
        blocks.push(header('././@LongLink', longName.length, 'L'), pad(longName));
      }
      name = name.slice(0, 100);
    }
    blocks.push(header(name, flag === '0' ? data.length : 0, flag, e.linkName));
    if (flag === '0' && data.length) blocks.push(pad(data));
  }
  blocks.push(Buffer.alloc(BLOCK * 2));
  return Buffer.concat(blocks);
}

export function metadataYaml(opts: { architecture?: string; creationDate?: number; properties?: Record<string, string> } = {}): string {
  const props = Object.entries(opts.properties ?? { os: 'busybox', release: '1.35', description: 'test image' })
    .map(([k, v]) => `  ${k}: "${v}"`)
    .join('\n');
  return [
    `architecture: ${opts.architecture ?? 'x86_64'}`,
    `creation_date: ${opts.creationDate ?? 1700000000}`,
    'properties:',
    props,
    'templates:',
    '  /etc/hostname:',
    '    when:',
    '      - create',
    '      - copy',
    '    create_only: false',
    '    template: hostname.tpl',
    '    properties: {}',
    '',
  ].join('\n');
}

/** A gzip-compressed unified image: metadata.yaml, templates/, rootfs/ with one file. */
export function unifiedImage(opts: Parameters<typeof metadataYaml>[0] & { marker?: string } = {}): Buffer {
  return gzipSync(
    tarBytes([
      { name: 'metadata.yaml', content: metadataYaml(opts) },
      { name: 'templates/', type: 'directory' },
      { name: 'templates/hostname.tpl', content: '{{ container.name }}\n' },
      { name: 'rootfs/', type: 'directory' },
      { name: 'rootfs/etc/', type: 'directory' },
      { name: 'rootfs/etc/marker', content: opts.marker ?? 'unified\n' },
    ]),
  );
}

/** The metadata part of a split image (gzip tarball). */
export function splitMetadata(opts: Parameters<typeof metadataYaml>[0] = {}): Buffer {
  return gzipSync(tarBytes([{ name: 'metadata.yaml', content: metadataYaml(opts) }]));
}

/** A rootfs part of a split image: a plain tarball of a tiny tree. */
export function splitRootfs(marker = 'split\n'): Buffer {
  return tarBytes([
    { name: './', type: 'directory' },
    { name: './etc/', type: 'directory' },
    { name: './etc/marker', content: marker },
  ]);
}

/** Compresses with a command-line tool (xz, zstd), or undefined when the tool is missing. */
export function compressWith(tool: 'xz' | 'zstd', data: Buffer): Buffer | undefined {
  try {
    return execFileSync(tool, ['-c', '-q'], { input: data, stdio: ['pipe', 'pipe', 'ignore'] });
  } catch {
    return undefined;
  }
}

/** Feeds `data` in chunks of `size` bytes, as a request body would arrive. */
export async function* chunked(data: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size);
}

/** A multipart/form-data body as the lxc client sends a split image. */
export function multipartBody(boundary: string, parts: readonly { name: string; filename: string; data: Buffer }[]): Buffer {
  const out: Buffer[] = [Buffer.from('preamble to ignore\r\n')];
  for (const p of parts) {
    out.push(
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="${p.name}"; filename="${p.filename}"\r\n` +
          'Content-Type: application/octet-stream\r\n\r\n',
      ),
      p.data,
      Buffer.from('\r\n'),
    );
  }
  out.push(Buffer.from(`--${boundary}--\r\nepilogue`));
  return Buffer.concat(out);
}
