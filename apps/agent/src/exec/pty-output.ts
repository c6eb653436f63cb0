// lxc-attach sets OPOST|ONLCR on the terminal it is given (liblxc's lxc_setup_tios), so every LF the command's own
// terminal (inside the container) emits reaches us as CR LF: the terminal inside has already done its output
// processing, and LXD's single pty would send "\r\n" where we read "\r\r\n". ONLCR is the only output translation
// on that terminal, so dropping the one CR it put before each LF restores the bytes exactly.

const CR = 0x0d;
const LF = 0x0a;

export class OnlcrReverser {
  /** A CR at the end of the previous chunk: dropped if the next byte is LF. */
  private heldCr = false;

  push(chunk: Buffer): Buffer {
    if (!this.heldCr && chunk.indexOf(CR) === -1) return chunk;
    const out = Buffer.allocUnsafe(chunk.length + 1);
    let n = 0;
    for (const b of chunk) {
      if (this.heldCr) {
        this.heldCr = false;
        if (b !== LF) out[n++] = CR;
      }
      if (b === CR) this.heldCr = true;
      else out[n++] = b;
    }
    return out.subarray(0, n);
  }

  /** What is still held at the end of the stream. */
  flush(): Buffer {
    if (!this.heldCr) return Buffer.alloc(0);
    this.heldCr = false;
    return Buffer.from([CR]);
  }
}
