// The agent's HTTP/1.1 + JSON server on a unix socket (mode 0600: only root, i.e. the daemon, may talk to it).
// A declarative route list; handlers return values or throw AgentError; this file alone writes responses.
import { existsSync, chmodSync, unlinkSync } from 'node:fs';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import { connect } from 'node:net';
import type { Duplex } from 'node:stream';
import type { AgentErrorBody } from '@lxdts/api-types';
import { AgentError, badRequest, notFound, toAgentError } from '../errors.js';
import type { AgentLogger } from '../log.js';

export interface RouteRequest {
  params: Record<string, string>;
  /** Parsed JSON body; undefined when empty. */
  body: unknown;
}

export interface AgentRoute {
  method: 'GET' | 'POST';
  /** `/instances/:lxcName/start` */
  path: string;
  /** The JSON response (undefined → `{}`). */
  handler(req: RouteRequest): Promise<unknown>;
}

/** What a streaming route gets: the untouched request and the response to write. */
export interface StreamRequest {
  params: Record<string, string>;
  query: URLSearchParams;
  req: IncomingMessage;
  res: ServerResponse;
}

/**
 * A streaming endpoint (file transfer): it reads the body and writes the response itself. What it throws before
 * sending headers becomes the usual JSON error; after that, the connection is cut.
 */
export interface AgentStreamRoute {
  method: 'GET' | 'POST';
  path: string;
  stream(req: StreamRequest): Promise<void>;
}

export interface AgentHttpServer {
  readonly socketPath: string;
  /** Stops accepting, lets running requests finish (up to `graceMs`), then closes and removes the socket. */
  close(graceMs?: number): Promise<void>;
}

const BODY_LIMIT = 16 * 1024 * 1024;

type CompiledRoute = (AgentRoute | AgentStreamRoute) & {
  parts: string[];
};

function match(route: CompiledRoute, parts: string[]): Record<string, string> | null {
  if (route.parts.length !== parts.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < parts.length; i++) {
    const want = route.parts[i] as string;
    const got = parts[i] as string;
    if (want.startsWith(':')) {
      try {
        params[want.slice(1)] = decodeURIComponent(got);
      } catch {
        return null;
      }
    } else if (want !== got) return null;
  }
  return params;
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > BODY_LIMIT) throw badRequest('Request body too large');
    chunks.push(chunk as Buffer);
  }
  if (size === 0) return undefined;
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw badRequest('Request body is not valid JSON');
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body ?? {});
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

/** Removes a socket file left by a dead agent; refuses if another agent still answers on it. */
async function clearStaleSocket(socketPath: string): Promise<void> {
  if (!existsSync(socketPath)) return;
  const alive = await new Promise<boolean>((resolve) => {
    const s = connect(socketPath);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
  if (alive) throw new Error(`Another agent is already listening on ${socketPath}`);
  unlinkSync(socketPath);
}

/** Takes an `Upgrade:` request (exec streams); returns false when the path is not its own. */
export type AgentUpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer) => boolean;

export async function listenAgentHttp(
  socketPath: string,
  routes: readonly (AgentRoute | AgentStreamRoute)[],
  log: AgentLogger,
  onUpgrade?: AgentUpgradeHandler,
): Promise<AgentHttpServer> {
  const compiled: CompiledRoute[] = routes.map((r) => ({ ...r, parts: r.path.split('/').filter(Boolean) }));

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const started = performance.now();
    const url = new URL(req.url ?? '/', 'http://agent');
    const parts = url.pathname.split('/').filter(Boolean);
    let status = 200;
    try {
      const candidates = compiled.map((r) => ({ r, params: match(r, parts) })).filter((c) => c.params !== null);
      if (candidates.length === 0) throw notFound(`Unknown path ${url.pathname}`);
      const hit = candidates.find((c) => c.r.method === req.method);
      if (!hit) {
        status = 405;
        send(res, 405, { error: `Method ${req.method} not allowed`, code: 'bad_request' } satisfies AgentErrorBody);
        return;
      }
      if ('stream' in hit.r) {
        await hit.r.stream({ params: hit.params as Record<string, string>, query: url.searchParams, req, res });
        status = res.statusCode;
        return;
      }
      const body = await readBody(req);
      const result = await hit.r.handler({ params: hit.params as Record<string, string>, body });
      send(res, 200, result);
    } catch (err) {
      const e = toAgentError(err);
      status = e.status;
      if (!(err instanceof AgentError)) log.error(`${req.method} ${url.pathname}: ${(err as Error)?.stack ?? String(err)}`);
      if (!res.headersSent) send(res, e.status, { error: e.message, code: e.code } satisfies AgentErrorBody);
      else res.destroy();
    } finally {
      log.debug(`${req.method} ${url.pathname} ${status} ${(performance.now() - started).toFixed(1)} ms`);
    }
  };

  const server: Server = createServer((req, res) => void handle(req, res));
  server.keepAliveTimeout = 30_000;
  // A file upload lasts as long as the client's upload to the daemon: no 5-minute cap on receiving a request.
  server.requestTimeout = 0;
  if (onUpgrade) {
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      if (onUpgrade(req, socket, head)) return;
      const body = JSON.stringify({ error: `Unknown path ${req.url ?? ''}`, code: 'not_found' } satisfies AgentErrorBody);
      socket.end(`HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
    });
  }
  await clearStaleSocket(socketPath);
  // Bind with a umask that makes the socket 0600 from its first moment; chmod again to be certain.
  const previous = process.umask(0o177);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(socketPath, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } finally {
    process.umask(previous);
  }
  chmodSync(socketPath, 0o600);
  log.info(`Agent listening on ${socketPath}`);

  let closing: Promise<void> | undefined;
  return {
    socketPath,
    close(graceMs = 10_000) {
      closing ??= new Promise<void>((resolve) => {
        const force = setTimeout(() => server.closeAllConnections(), graceMs);
        force.unref();
        server.close(() => {
          clearTimeout(force);
          resolve();
        });
        server.closeIdleConnections();
      }).finally(() => {
        try {
          unlinkSync(socketPath);
        } catch {
          // Already removed.
        }
      });
      return closing;
    },
  };
}
