// Writes a stream of chunks to a new private file, feeding a running hash and counting bytes.
import type { Hash } from 'node:crypto';
import { type FileHandle, open, rm } from 'node:fs/promises';

export class StagedFileWriter {
  private size = 0;

  private constructor(
    readonly path: string,
    private readonly fh: FileHandle,
    private readonly hash: Hash | undefined,
  ) {}

  /** Creates `path` (which must not exist) with mode 0600. */
  static async create(path: string, hash?: Hash): Promise<StagedFileWriter> {
    return new StagedFileWriter(path, await open(path, 'wx', 0o600), hash);
  }

  get bytes(): number {
    return this.size;
  }

  async write(chunk: Buffer): Promise<void> {
    this.hash?.update(chunk);
    let offset = 0;
    while (offset < chunk.length) {
      const { bytesWritten } = await this.fh.write(chunk, offset, chunk.length - offset);
      offset += bytesWritten;
    }
    this.size += chunk.length;
  }

  /** Flushes to disk and closes; the file is complete once this resolves. */
  async end(): Promise<void> {
    await this.fh.sync();
    await this.fh.close();
  }

  async abort(): Promise<void> {
    await this.fh.close().catch(() => undefined);
    await rm(this.path, { force: true });
  }
}
