// JSON requests from one member to another over HTTPS: the cluster certificate is the client certificate and the
// peer must present it too — pinned as the only trusted CA, so the handshake fails before a byte of the request
// (which may carry a join secret) is sent to anyone else. A joining server, which has no cluster key yet, pins the
// certificate it verified against its join token's fingerprint and presents none.
import { request } from 'node:https';
import { parseListenAddress } from '../daemon/listeners.js';

export interface MemberTls {
  /** The certificate (PEM) the peer must present. */
  pinned: string;
  /** Our client certificate (omitted by a joining server). */
  cert?: string;
  key?: string;
}

export class MemberRequestError extends Error {
  override name = 'MemberRequestError';
  constructor(
    message: string,
    /** The HTTP status the peer answered with; 0 when it could not be reached. */
    readonly status: number,
  ) {
    super(message);
  }
}

/** Sends `body` as JSON and returns the `metadata` of LXD's sync envelope (or throws with the peer's error). */
export function memberRequest<T>(
  address: string,
  method: string,
  path: string,
  body: unknown,
  tls: MemberTls,
  timeoutMs = 5_000,
  extraHeaders: Record<string, string> = {},
): Promise<T> {
  const { host, port } = parseListenAddress(address);
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  return new Promise<T>((resolve, reject) => {
    const req = request(
      {
        host,
        port,
        method,
        path,
        cert: tls.cert,
        key: tls.key,
        ca: [tls.pinned],
        rejectUnauthorized: true,
        // The pin is the identity: members are reached by address, not by a name in the certificate.
        checkServerIdentity: () => undefined,
        agent: false,
        timeout: timeoutMs,
        headers: { 'content-type': 'application/json', ...(payload ? { 'content-length': String(payload.length) } : {}), ...extraHeaders },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          let envelope: { metadata?: unknown; error?: string; error_code?: number } = {};
          try {
            envelope = JSON.parse(Buffer.concat(chunks).toString('utf8')) as typeof envelope;
          } catch {
            // Not JSON: reported below with the status.
          }
          const status = res.statusCode ?? 0;
          if (status >= 400 || envelope.error) {
            reject(new MemberRequestError(envelope.error || `HTTP ${status} from ${address}`, status));
            return;
          }
          resolve(envelope.metadata as T);
        });
        res.on('error', (err) => reject(new MemberRequestError(`${address}: ${err.message}`, 0)));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`timed out after ${timeoutMs} ms`)));
    req.on('error', (err: NodeJS.ErrnoException) => {
      const why = err.code === 'DEPTH_ZERO_SELF_SIGNED_CERT' || err.code === 'SELF_SIGNED_CERT_IN_CHAIN' ? 'it does not present the cluster certificate' : err.message;
      reject(new MemberRequestError(`Failed to reach ${address}: ${why}`, 0));
    });
    req.end(payload);
  });
}
