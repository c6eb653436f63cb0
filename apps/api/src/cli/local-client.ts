// Talks to a running daemon over its unix socket, for the admin verbs (waitready, shutdown, init, sql).
import { request } from 'node:http';
import type { ResponseEnvelope } from '@lxdts/api-types';

export class LocalClient {
  constructor(private readonly socketPath: string) {}

  /** Sends a request and returns the decoded envelope; rejects on connection errors. */
  call<T = unknown>(method: string, path: string, body?: unknown): Promise<{ status: number; envelope: ResponseEnvelope<T> }> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    return new Promise((resolve, reject) => {
      const req = request(
        {
          socketPath: this.socketPath,
          method,
          path,
          headers: { host: 'unix.socket', ...(payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {}) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            try {
              resolve({ status: res.statusCode ?? 0, envelope: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
            } catch (err) {
              reject(err);
            }
          });
        },
      );
      req.on('error', reject);
      if (payload) req.write(payload);
      req.end();
    });
  }

  /** Like call() but throws the daemon's error message on an error envelope. */
  async sync<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
    const { envelope } = await this.call<T>(method, path, body);
    if (envelope.type === 'error') throw new Error(envelope.error);
    if (envelope.type === 'async') {
      const op = (await this.call<{ err: string; status_code: number; metadata: T }>('GET', `${envelope.operation}/wait`)).envelope;
      if (op.type === 'error') throw new Error(op.error);
      if (op.metadata.status_code !== 200) throw new Error(op.metadata.err || 'operation failed');
      return op.metadata.metadata;
    }
    return envelope.metadata;
  }
}
