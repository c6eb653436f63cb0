// Raw HTTP clients: over the daemon's unix socket (trusted by file mode) and over HTTPS (with or without a client
// certificate). They never throw on an HTTP status; transport failures resolve with status 0 and `error`.
import { once } from 'node:events';
import { type ClientRequest, type IncomingHttpHeaders, request as httpRequest, Agent as HttpAgent } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';

export interface HttpResult {
  status: number;
  headers: IncomingHttpHeaders;
  /** Raw response body as text. */
  text: string;
  /** Parsed JSON body, or undefined when the body is not JSON. */
  json: any;
  /** Set when the request failed at the transport level (no or partial response). */
  error?: string;
}

export interface RequestOptions {
  method?: string;
  /** Path with query string, sent verbatim (no normalisation). */
  path: string;
  /** Objects are JSON-encoded; strings and Buffers are sent as they are. */
  body?: unknown;
  headers?: Record<string, string | number>;
  timeoutMs?: number;
}

function encodeBody(body: unknown): Buffer | undefined {
  if (body === undefined) return undefined;
  if (Buffer.isBuffer(body)) return body;
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  return Buffer.from(JSON.stringify(body), 'utf8');
}

function parseJson(text: string): any {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

type Requester = typeof httpRequest;

/** Bodies above this size are written in chunks, so that an early answer (e.g. 413) is read before the server
 * closes the connection (otherwise the client may see only EPIPE and lose the answer). */
const BIG_BODY = 1 << 20;
const CHUNK = 64 * 1024;

async function writeSlowly(req: ClientRequest, payload: Buffer, answered: () => boolean): Promise<void> {
  const closed = new Promise<void>((resolve) => req.once('close', resolve));
  // Send the headers alone first and give the server a moment to answer from them (Content-Length).
  req.flushHeaders();
  await Promise.race([sleep(150), closed]);
  for (let off = 0; off < payload.length; off += CHUNK) {
    // One pass of the event loop's poll phase between chunks, so an answer that arrived is parsed before the
    // next write (a write after the server closed fails with EPIPE and loses the unread answer).
    await new Promise((resolve) => setImmediate(resolve));
    if (answered() || req.destroyed) break;
    if (!req.write(payload.subarray(off, off + CHUNK))) await Promise.race([once(req, 'drain').catch(() => undefined), closed]);
  }
  // When the server answered without reading everything, stop sending: finish() destroys the request.
  if (!answered() && !req.destroyed) req.end();
}

function perform(requester: Requester, base: Record<string, unknown>, opts: RequestOptions): Promise<HttpResult> {
  const payload = encodeBody(opts.body);
  const headers: Record<string, string | number> = { ...(opts.headers ?? {}) };
  if (payload && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-length')) headers['Content-Length'] = payload.length;
  if (payload && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) headers['Content-Type'] = 'application/json';
  return new Promise((resolve) => {
    let settled = false;
    let response: { status: number; headers: IncomingHttpHeaders; chunks: Buffer[] } | undefined;
    const finish = (error?: string) => {
      if (settled) return;
      settled = true;
      const text = response ? Buffer.concat(response.chunks).toString('utf8') : '';
      const result: HttpResult = { status: response?.status ?? 0, headers: response?.headers ?? {}, text, json: parseJson(text) };
      if (error) result.error = error;
      if (!req.writableFinished) req.destroy();
      resolve(result);
    };
    const req = requester(
      { ...base, method: opts.method ?? 'GET', path: opts.path, headers, timeout: opts.timeoutMs ?? 30_000 },
      (res) => {
        response = { status: res.statusCode ?? 0, headers: res.headers, chunks: [] };
        res.on('data', (c: Buffer) => response!.chunks.push(c));
        res.on('end', () => finish());
        res.on('error', (e) => finish(e.message));
        res.on('aborted', () => finish('response aborted'));
      },
    );
    req.on('timeout', () => {
      req.destroy(new Error('timeout'));
    });
    req.on('error', (e) => {
      // The server may answer (e.g. 413) and close before it read the whole body: keep the answer if complete.
      if (response) setTimeout(() => finish(response ? undefined : e.message), 200);
      else finish(e.message);
    });
    if (payload && payload.length > BIG_BODY) void writeSlowly(req, payload, () => response !== undefined || settled);
    else if (payload) req.end(payload);
    else req.end();
  });
}

/** One request over a unix socket; a fresh connection each time unless `agent` is given. */
export function unixRequest(socketPath: string, opts: RequestOptions, agent?: HttpAgent): Promise<HttpResult> {
  return perform(httpRequest, { socketPath, host: 'unix.socket', agent: agent ?? false }, opts);
}

export interface TlsClientOptions {
  cert?: string | Buffer;
  key?: string | Buffer;
}

/** One HTTPS request to host:port, server certificate not verified (as `curl -k`), optional client certificate. */
export function tlsRequest(host: string, port: number, opts: RequestOptions, tls: TlsClientOptions = {}): Promise<HttpResult> {
  return perform(httpsRequest as unknown as Requester, { host, port, rejectUnauthorized: false, agent: false, ...tls }, opts);
}

/** The seven keys of every LXD response envelope. */
export const ENVELOPE_KEYS = ['type', 'status', 'status_code', 'operation', 'error_code', 'error', 'metadata'] as const;

/** Problems with an error envelope (empty when it is a proper LXD error answer for `status`). */
export function errorEnvelopeProblems(res: HttpResult): string[] {
  const p: string[] = [];
  const b = res.json;
  if (b === undefined || b === null || typeof b !== 'object' || Array.isArray(b)) return [`body is not a JSON object: ${JSON.stringify(res.text.slice(0, 200))}`];
  const keys = Object.keys(b).sort();
  const want = [...ENVELOPE_KEYS].sort();
  if (JSON.stringify(keys) !== JSON.stringify(want)) p.push(`envelope keys ${JSON.stringify(keys)} != ${JSON.stringify(want)}`);
  if (b.type !== 'error') p.push(`type ${JSON.stringify(b.type)} != "error"`);
  if (b.error_code !== res.status) p.push(`error_code ${JSON.stringify(b.error_code)} != HTTP status ${res.status}`);
  if (typeof b.error !== 'string' || b.error === '') p.push(`error message ${JSON.stringify(b.error)} is not a non-empty string`);
  if (b.status !== '' || b.status_code !== 0 || b.operation !== '' || b.metadata !== null) {
    p.push(`status/status_code/operation/metadata not empty: ${JSON.stringify([b.status, b.status_code, b.operation, b.metadata])}`);
  }
  return p;
}
