// Files fetched from another member over HTTPS with the cluster certificate (image files a member lacks).
import { createWriteStream } from 'node:fs';
import { request } from 'node:https';
import { pipeline } from 'node:stream/promises';
import { parseListenAddress } from '../daemon/listeners.js';
import type { ClusterTls } from './database-tunnel.js';

/** GETs `path` from the member at `address` into `dest`; resolves false on a 404, throws on other failures. */
export function fetchMemberFile(address: string, path: string, dest: string, tls: ClusterTls, timeoutMs = 120_000): Promise<boolean> {
  const { host, port } = parseListenAddress(address);
  return new Promise<boolean>((resolve, reject) => {
    const req = request(
      { host, port, path, method: 'GET', cert: tls.cert, key: tls.key, ca: [tls.cert], checkServerIdentity: () => undefined, agent: false, timeout: timeoutMs },
      (res) => {
        if (res.statusCode === 404) {
          res.resume();
          resolve(false);
          return;
        }
        if (res.statusCode !== 200) {
          res.resume();
          reject(new Error(`${address}${path}: HTTP ${res.statusCode}`));
          return;
        }
        pipeline(res, createWriteStream(dest, { mode: 0o600 })).then(() => resolve(true), reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`timed out after ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}
