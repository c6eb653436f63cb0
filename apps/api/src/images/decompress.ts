// The tar stream inside an image file: gzip through zlib, the other compressors through their command-line tools
// (Node 20's zlib has no xz or zstd).
import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createGunzip } from 'node:zlib';
import type { ImageFileFormat } from './compression.js';

const COMMANDS: Partial<Record<ImageFileFormat, readonly [string, ...string[]]>> = {
  xz: ['xz', '-dc'],
  lzma: ['xz', '--format=lzma', '-dc'],
  zstd: ['zstd', '-dcq'],
  bzip2: ['bzip2', '-dc'],
};

/**
 * Yields the uncompressed bytes of `path`. Stopping the iteration early (break/return) ends any helper process;
 * a helper that fails after a complete read is reported with its stderr.
 */
export async function* decompress(path: string, format: ImageFileFormat): AsyncGenerator<Buffer> {
  if (format === 'tar') {
    yield* createReadStream(path) as AsyncIterable<Buffer>;
    return;
  }
  if (format === 'gzip') {
    const source = createReadStream(path);
    const gunzip = createGunzip();
    source.on('error', (err) => gunzip.destroy(err));
    source.pipe(gunzip);
    try {
      yield* gunzip as AsyncIterable<Buffer>;
    } finally {
      source.destroy();
      gunzip.destroy();
    }
    return;
  }
  const command = COMMANDS[format];
  if (!command) throw new Error(`Unsupported compression: ${format} is not a tarball`);
  yield* runDecompressor(path, command);
}

async function* runDecompressor(path: string, [cmd, ...args]: readonly [string, ...string[]]): AsyncGenerator<Buffer> {
  const input = await open(path, 'r');
  let child;
  try {
    child = spawn(cmd, args, { stdio: [input.fd, 'pipe', 'pipe'] });
  } finally {
    // The child holds its own copy of the descriptor.
    await input.close();
  }
  const { stdout, stderr: errors } = child;
  if (!stdout || !errors) throw new Error(`Failed to run ${cmd}`);
  let stderr = '';
  errors.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
  const exited = new Promise<{ code: number | null; error?: Error }>((resolve) => {
    child.once('error', (error) => resolve({ code: null, error }));
    child.once('close', (code) => resolve({ code }));
  });
  let complete = false;
  try {
    yield* stdout as AsyncIterable<Buffer>;
    complete = true;
  } finally {
    if (!complete) {
      // Unread output would keep the pipe (and so 'close') open forever.
      stdout.destroy();
      child.kill('SIGKILL');
    }
    const result = await exited;
    if (complete && result.error) throw new Error(`Failed to run ${cmd}: ${result.error.message}`);
    if (complete && result.code !== 0) throw new Error(`${cmd} failed: ${stderr.trim() || `exit status ${result.code}`}`);
  }
}
