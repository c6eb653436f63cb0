// A streaming multipart/form-data reader: each part's body goes to a sink as it arrives, never buffered whole.

export interface MultipartPart {
  /** The form field name (Content-Disposition `name`). */
  name: string;
  filename: string;
  headers: Record<string, string>;
}

export interface PartSink {
  write(chunk: Buffer): Promise<void>;
  end(): Promise<void>;
}

const CRLF = Buffer.from('\r\n');
const HEADER_END = Buffer.from('\r\n\r\n');
const MAX_HEADER_BYTES = 16 * 1024;

/** The boundary parameter of a multipart Content-Type, or undefined. */
export function multipartBoundary(contentType: string | undefined): string | undefined {
  if (!contentType || !/^multipart\/form-data\s*(;|$)/i.test(contentType.trim())) return undefined;
  const m = /;\s*boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  return m?.[1] ?? m?.[2];
}

function dispositionParam(value: string, key: string): string {
  const m = new RegExp(`;\\s*${key}="((?:[^"\\\\]|\\\\.)*)"|;\\s*${key}=([^;\\s]+)`, 'i').exec(value);
  return (m?.[1]?.replace(/\\(.)/g, '$1') ?? m?.[2] ?? '').trim();
}

function parseHeaders(block: Buffer): MultipartPart {
  const headers: Record<string, string> = {};
  for (const line of block.toString('utf8').split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const disposition = headers['content-disposition'] ?? '';
  return { name: dispositionParam(disposition, 'name'), filename: dispositionParam(disposition, 'filename'), headers };
}

/**
 * Reads a multipart body, opening one sink per part (in order). Resolves with the number of parts once the body is
 * consumed; a body that ends before the closing delimiter is an error. The iterator is never `return()`ed, so on an
 * error the caller can drain the rest of a request (destroying a request stream would lose the response).
 */
export async function readMultipart(
  body: AsyncIterator<Buffer>,
  boundary: string,
  open: (part: MultipartPart, index: number) => Promise<PartSink>,
): Promise<number> {
  const delimiter = Buffer.from(`--${boundary}`);
  const inner = Buffer.concat([CRLF, delimiter]);
  type State = 'preamble' | 'after-delimiter' | 'headers' | 'body' | 'done';
  // Widened on purpose: `step` changes it behind the compiler's back.
  let state = 'preamble' as State;
  let buf: Buffer = Buffer.alloc(0);
  let sink: PartSink | undefined;
  let parts = 0;

  const step = async (): Promise<boolean> => {
    switch (state) {
      case 'preamble': {
        const at = buf.indexOf(delimiter);
        if (at < 0) {
          buf = buf.subarray(Math.max(0, buf.length - delimiter.length));
          return false;
        }
        buf = buf.subarray(at + delimiter.length);
        state = 'after-delimiter';
        return true;
      }
      case 'after-delimiter': {
        if (buf.length < 2) return false;
        if (buf[0] === 0x2d && buf[1] === 0x2d) {
          state = 'done';
          return false;
        }
        // Transport padding (spaces, tabs) may precede the line break.
        const eol = buf.indexOf(CRLF);
        if (eol < 0) {
          if (buf.length > 256) throw new Error('multipart: malformed delimiter line');
          return false;
        }
        if (buf.subarray(0, eol).toString('latin1').trim() !== '') throw new Error('multipart: malformed delimiter line');
        buf = buf.subarray(eol + 2);
        state = 'headers';
        return true;
      }
      case 'headers': {
        const end = buf.indexOf(HEADER_END);
        const emptyHeaders = buf.subarray(0, 2).equals(CRLF);
        if (end < 0 && !emptyHeaders) {
          if (buf.length > MAX_HEADER_BYTES) throw new Error('multipart: part headers too large');
          return false;
        }
        const headerBlock = emptyHeaders ? Buffer.alloc(0) : buf.subarray(0, end);
        buf = buf.subarray(emptyHeaders ? 2 : end + HEADER_END.length);
        sink = await open(parseHeaders(headerBlock), parts++);
        state = 'body';
        return true;
      }
      case 'body': {
        const at = buf.indexOf(inner);
        if (at < 0) {
          // Keep a tail that may be the start of a delimiter split across chunks.
          const keep = Math.min(buf.length, inner.length - 1);
          const out = buf.subarray(0, buf.length - keep);
          if (out.length) await sink!.write(out);
          buf = buf.subarray(buf.length - keep);
          return false;
        }
        if (at > 0) await sink!.write(buf.subarray(0, at));
        await sink!.end();
        sink = undefined;
        buf = buf.subarray(at + inner.length);
        state = 'after-delimiter';
        return true;
      }
      case 'done':
        return false;
    }
  };

  for (let next = await body.next(); !next.done; next = await body.next()) {
    // The epilogue after the closing delimiter is read and ignored.
    if (state === 'done') continue;
    buf = buf.length ? Buffer.concat([buf, next.value]) : next.value;
    while (await step());
  }
  while (state !== 'done' && (await step()));
  if (state !== 'done') throw new Error('multipart: unexpected end of body');
  return parts;
}
