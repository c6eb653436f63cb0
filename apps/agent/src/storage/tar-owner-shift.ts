// Moves the owners of a tar stream's members by a fixed offset, header by header, without unpacking anything.
// LXD keeps an unprivileged container's files shifted by its id map on disk (container root = host 1000000) and
// so in its backup tarballs; lxdts keeps them unshifted (an idmapped mount does the mapping at run time). GNU tar
// can map owners only when it creates an archive (--owner-map), so an LXD-made tarball is unshifted on the way in
// by rewriting the ustar uid/gid fields (and their checksum) of ids inside [base, base + range).
import { Transform, type TransformCallback } from 'node:stream';

export interface OwnerShift {
  /** Host ids the container's ids start at (what is subtracted). */
  uid: number;
  gid: number;
  /** How many ids are shifted. */
  range: number;
}

const BLOCK = 512;

function readOctal(b: Buffer, offset: number, length: number): number | null {
  const field = b.subarray(offset, offset + length);
  // Base-256 (GNU) encoding for large values: leave those alone.
  if ((field[0] ?? 0) & 0x80) return null;
  const text = field.toString('latin1').replace(/[\0 ].*$/s, '').trim();
  return /^[0-7]+$/.test(text) ? parseInt(text, 8) : null;
}

function writeOctal(b: Buffer, offset: number, length: number, value: number): void {
  // Same width as tar writes: zero-padded, then a NUL.
  b.write(`${value.toString(8).padStart(length - 1, '0')}\0`, offset, length, 'latin1');
}

function checksum(header: Buffer): number {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : (header[i] as number);
  return sum;
}

/** A Transform that rewrites ownership in ustar headers; everything else passes through unchanged. */
export function shiftTarOwners(shift: OwnerShift): Transform {
  let pending: Buffer = Buffer.alloc(0);
  /** Bytes of member data (padded) still to pass before the next header. */
  let skip = 0;
  const move = (id: number | null, base: number) => (id !== null && id >= base && id < base + shift.range ? id - base : null);
  const process = (push: (b: Buffer) => void): void => {
    for (;;) {
      if (skip > 0) {
        if (pending.length === 0) return;
        const n = Math.min(skip, pending.length);
        push(pending.subarray(0, n));
        pending = pending.subarray(n);
        skip -= n;
        continue;
      }
      if (pending.length < BLOCK) return;
      const header = Buffer.from(pending.subarray(0, BLOCK));
      pending = pending.subarray(BLOCK);
      const isHeader = header.subarray(257, 262).toString('latin1') === 'ustar' && readOctal(header, 148, 8) === checksum(header);
      if (isHeader) {
        const uid = move(readOctal(header, 108, 8), shift.uid);
        const gid = move(readOctal(header, 116, 8), shift.gid);
        if (uid !== null) writeOctal(header, 108, 8, uid);
        if (gid !== null) writeOctal(header, 116, 8, gid);
        if (uid !== null || gid !== null) writeOctal(header, 148, 7, checksum(header));
        const size = readOctal(header, 124, 12) ?? 0;
        // Directories, links and devices carry no data; every other type (files, pax and GNU long-name records) does.
        const type = String.fromCharCode(header[156] ?? 0x30);
        const data = ['1', '2', '3', '4', '5', '6'].includes(type) ? 0 : size;
        skip = Math.ceil(data / BLOCK) * BLOCK;
      }
      // End-of-archive zero blocks and anything unrecognised pass as they are.
      push(header);
    }
  };
  return new Transform({
    transform(chunk: Buffer, _enc, done: TransformCallback) {
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      process((b) => this.push(b));
      done();
    },
    flush(done: TransformCallback) {
      if (pending.length) this.push(pending);
      done();
    },
  });
}
