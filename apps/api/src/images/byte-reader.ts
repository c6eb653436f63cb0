// Exact-length reads over an async stream of chunks, for parsers of block formats (tar).

export class ByteReader {
  private pending: Buffer[] = [];
  private buffered = 0;
  private done = false;

  constructor(private readonly source: AsyncIterator<Buffer>) {}

  /** Exactly `n` bytes; null at a clean end of stream; an error when the stream ends inside them. */
  async read(n: number): Promise<Buffer | null> {
    while (this.buffered < n && (await this.pull()));
    if (this.buffered === 0 && n > 0) return null;
    if (this.buffered < n) throw new Error('unexpected EOF');
    const all = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending);
    const out = all.subarray(0, n);
    const rest = all.subarray(n);
    this.pending = rest.length ? [rest] : [];
    this.buffered = rest.length;
    return out;
  }

  /** Discards `n` bytes without holding them in memory. */
  async skip(n: number): Promise<void> {
    let left = n;
    while (left > 0) {
      if (this.buffered === 0 && !(await this.pull())) throw new Error('unexpected EOF');
      const head = this.pending[0]!;
      if (head.length <= left) {
        left -= head.length;
        this.buffered -= head.length;
        this.pending.shift();
      } else {
        this.pending[0] = head.subarray(left);
        this.buffered -= left;
        left = 0;
      }
    }
  }

  private async pull(): Promise<boolean> {
    if (this.done) return false;
    const next = await this.source.next();
    if (next.done) {
      this.done = true;
      return false;
    }
    if (next.value.length) {
      this.pending.push(next.value);
      this.buffered += next.value.length;
    }
    return true;
  }
}
