// A streamed response announces Content-Length before it reads: this passes exactly that many bytes, and fails
// (the response is aborted rather than left short) when the source turns out shorter.
import { Transform } from 'node:stream';

/** Passes exactly `size` bytes (the source is read up to `size - 1`); fewer is an error. */
export function exactLength(size: number): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      seen += chunk.length;
      done(null, chunk);
    },
    flush(done) {
      done(seen === size ? null : new Error(`File changed size while being read (${seen} of ${size} bytes)`));
    },
  });
}
