// The two listeners of one Nest/fastify app: the unix socket (plain HTTP, trusted by file mode) and HTTPS on
// core.https_address (client certificates). Requests are tagged with the listener that accepted them.
import { chmodSync, chownSync, existsSync, unlinkSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import { execFileSync } from 'node:child_process';
import { TRANSPORT, type TaggedRequest } from '../auth/authenticator.js';
import type { KeyPair } from '../tls/server-certificate.js';

export type UpgradeHandler = (req: IncomingMessage, socket: Duplex, head: Buffer) => void;

export class Listeners {
  private handler: RequestListener | undefined;
  private https: HttpsServer | undefined;
  private httpsAddress = '';
  readonly unix: Server;
  private upgrade: UpgradeHandler | undefined;
  /** Set once the app has its routes (markReady). */
  private ready = false;

  constructor(private keyPair: KeyPair) {
    this.unix = createHttpServer((req, res) => {
      (req as TaggedRequest)[TRANSPORT] = 'unix';
      this.dispatch(req, res);
    });
    this.unix.keepAliveTimeout = 60_000;
    // Uploads and downloads (images, files) may take longer than Node's 300 s default.
    this.unix.requestTimeout = 0;
    this.unix.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      (req as TaggedRequest)[TRANSPORT] = 'unix';
      this.onUpgrade(req, socket, head);
    });
  }

  /** fastify's serverFactory: receives the app's request handler and returns the unix server for it to listen on. */
  readonly serverFactory = (handler: RequestListener): Server => {
    this.handler = handler;
    return this.unix;
  };

  /**
   * A clustered member listens on HTTPS before the app exists (peers reach its database node through it while it
   * starts): until then, API requests get LXD's "not ready" answer.
   */
  private dispatch(req: IncomingMessage, res: ServerResponse): void {
    if (this.handler && this.ready) {
      this.handler(req, res);
      return;
    }
    const body = JSON.stringify({ type: 'error', status: '', status_code: 0, operation: '', error_code: 503, error: 'LXD daemon not ready yet', metadata: null });
    res.writeHead(503, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
  }

  markReady(): void {
    this.ready = true;
  }

  setUpgradeHandler(fn: UpgradeHandler): void {
    this.upgrade = fn;
  }

  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    if (this.upgrade) this.upgrade(req, socket, head);
    else socket.destroy();
  }

  /** Fixes the socket's mode (0660) and group, as `lxd --group`. */
  secureSocket(path: string, group: string): void {
    chmodSync(path, 0o660);
    if (group) {
      const gid = Number(execFileSync('getent', ['group', group], { encoding: 'utf8' }).split(':')[2]);
      if (Number.isFinite(gid)) chownSync(path, 0, gid);
    }
  }

  /** Presents another certificate from now on (the cluster's, once clustered); open connections keep theirs. */
  setKeyPair(pair: KeyPair): void {
    this.keyPair = pair;
    this.https?.setSecureContext({ key: pair.key, cert: pair.cert });
  }

  get currentHttpsAddress(): string {
    return this.httpsAddress;
  }

  /** (Re)binds HTTPS to `address` ("" = off). Throws, leaving the old listener, when the address can't be bound. */
  async applyHttpsAddress(address: string): Promise<void> {
    if (address === this.httpsAddress) return;
    const next = address ? await this.listenHttps(address) : undefined;
    const old = this.https;
    this.https = next;
    this.httpsAddress = address;
    if (old) await closeServer(old);
  }

  private async listenHttps(address: string): Promise<HttpsServer> {
    const { host, port } = parseListenAddress(address);
    const server = createHttpsServer(
      { key: this.keyPair.key, cert: this.keyPair.cert, requestCert: true, rejectUnauthorized: false },
      (req, res) => {
        (req as TaggedRequest)[TRANSPORT] = 'tls';
        this.dispatch(req, res);
      },
    );
    server.keepAliveTimeout = 60_000;
    server.requestTimeout = 0;
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      (req as TaggedRequest)[TRANSPORT] = 'tls';
      this.onUpgrade(req, socket, head);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host, port }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    return server;
  }

  async close(): Promise<void> {
    if (this.https) await closeServer(this.https);
    this.https = undefined;
    this.httpsAddress = '';
  }
}

async function closeServer(server: HttpsServer | Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
}

/** "127.0.0.1:8443", "[::1]:8443", ":8443", "10.0.0.1" (port 8443 by default, as LXD). */
export function parseListenAddress(address: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*))(?::(\d+))?$/.exec(address.trim());
  if (!m) throw new Error(`Invalid address "${address}"`);
  const host = m[1] ?? m[2] ?? '';
  const port = m[3] ? Number(m[3]) : 8443;
  if (port < 1 || port > 65535) throw new Error(`Invalid port in "${address}"`);
  return { host: host === '' ? '::' : host, port };
}

export function removeStaleSocket(path: string): void {
  if (existsSync(path)) unlinkSync(path);
}
