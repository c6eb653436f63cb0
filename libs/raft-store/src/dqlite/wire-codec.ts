// Field encodings of the dqlite wire protocol: little-endian words, NUL-terminated text and length-prefixed blobs,
// both padded to 8 bytes. Pure (no I/O) so it can be tested byte by byte.
import { ProtocolError } from './errors.js';

const WORD = 8;

function padded(n: number): number {
  return Math.ceil(n / WORD) * WORD;
}

/** Appends fields to a growing buffer. */
export class WireWriter {
  private buf = Buffer.alloc(64);
  private len = 0;

  /** Grows the buffer; callers must read `this.buf` only after calling it (it may be replaced). */
  private reserve(n: number): number {
    if (this.len + n > this.buf.length) {
      const next = Buffer.alloc(Math.max(this.buf.length * 2, this.len + n));
      this.buf.copy(next, 0, 0, this.len);
      this.buf = next;
    }
    const at = this.len;
    this.len += n;
    return at;
  }

  u8(v: number): this {
    const at = this.reserve(1);
    this.buf.writeUInt8(v, at);
    return this;
  }

  u32(v: number): this {
    const at = this.reserve(4);
    this.buf.writeUInt32LE(v >>> 0, at);
    return this;
  }

  u64(v: number | bigint): this {
    const at = this.reserve(8);
    this.buf.writeBigUInt64LE(BigInt(v), at);
    return this;
  }

  i64(v: number | bigint): this {
    const at = this.reserve(8);
    this.buf.writeBigInt64LE(BigInt(v), at);
    return this;
  }

  f64(v: number): this {
    const at = this.reserve(8);
    this.buf.writeDoubleLE(v, at);
    return this;
  }

  /** UTF-8 + NUL, zero-padded to a word boundary (an empty string is one zero word). */
  text(v: string): this {
    const bytes = Buffer.from(v, 'utf8');
    if (bytes.includes(0)) throw new ProtocolError('text values cannot contain NUL characters');
    const at = this.reserve(padded(bytes.length + 1));
    bytes.copy(this.buf, at);
    return this;
  }

  blob(v: Uint8Array): this {
    this.u64(v.length);
    const at = this.reserve(padded(v.length));
    this.buf.set(v, at);
    return this;
  }

  /** Zero bytes up to the next word boundary (after a tuple header). */
  pad(): this {
    this.reserve(padded(this.len) - this.len);
    return this;
  }

  get length(): number {
    return this.len;
  }

  /** The bytes written so far (a copy-free view). */
  bytes(): Buffer {
    return this.buf.subarray(0, this.len);
  }
}

/** Reads fields from one message body. Throws ProtocolError on a truncated body. */
export class WireReader {
  private pos = 0;

  constructor(private readonly buf: Buffer) {}

  private take(n: number): number {
    if (this.pos + n > this.buf.length) {
      throw new ProtocolError(`truncated message: need ${n} bytes at ${this.pos}, have ${this.buf.length}`);
    }
    const at = this.pos;
    this.pos += n;
    return at;
  }

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  get offset(): number {
    return this.pos;
  }

  peekU8(): number {
    if (this.pos >= this.buf.length) throw new ProtocolError('truncated message');
    return this.buf[this.pos]!;
  }

  u8(): number {
    return this.buf.readUInt8(this.take(1));
  }

  u32(): number {
    return this.buf.readUInt32LE(this.take(4));
  }

  u64(): bigint {
    return this.buf.readBigUInt64LE(this.take(8));
  }

  /** A uint64 that must fit a JS number (ids, counts, lengths). */
  u64Number(): number {
    const v = this.u64();
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new ProtocolError(`value ${v} exceeds 2^53`);
    return Number(v);
  }

  i64(): bigint {
    return this.buf.readBigInt64LE(this.take(8));
  }

  f64(): number {
    return this.buf.readDoubleLE(this.take(8));
  }

  text(): string {
    const end = this.buf.indexOf(0, this.pos);
    if (end < 0) throw new ProtocolError('unterminated text');
    const s = this.buf.toString('utf8', this.pos, end);
    this.take(padded(end - this.pos + 1));
    return s;
  }

  blob(): Buffer {
    const n = this.u64Number();
    const at = this.take(padded(n));
    return Buffer.from(this.buf.subarray(at, at + n));
  }

  skip(n: number): void {
    this.take(n);
  }

  /** Skips to the next word boundary (after a row or tuple header). */
  align(): void {
    this.take(padded(this.pos) - this.pos);
  }
}
