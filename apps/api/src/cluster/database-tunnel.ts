// dqlite traffic between members travels inside the members' HTTPS, as in LXD: a member opens TLS to a peer's
// cluster address presenting the cluster certificate, pins the peer's certificate to that same certificate, and
// upgrades `GET /internal/database` (`Upgrade: dqlite`). After the 101 the connection carries dqlite's own protocol
// (raft between nodes, or SQL from a client) to the peer's local dqlite node. Nothing else can reach a dqlite node:
// the sidecars listen on abstract unix sockets only.
import { type Socket, connect as netConnect } from 'node:net';
import type { Duplex } from 'node:stream';
import { type TLSSocket, connect as tlsConnect } from 'node:tls';
import type { IncomingMessage } from 'node:http';
import { parseListenAddress } from '../daemon/listeners.js';

export const DATABASE_UPGRADE_PATH = '/internal/database';
export const DATABASE_UPGRADE_PROTOCOL = 'dqlite';

/** The cluster's shared certificate: every member presents it and accepts only it. */
export interface ClusterTls {
  cert: string;
  key: string;
  /** sha256 of the DER certificate, lowercase hex. */
  fingerprint: string;
}

/** `AB:CD:...` (node's fingerprint256) → `abcd...`. */
export const normalizeFingerprint = (fp: string): string => fp.replace(/:/g, '').toLowerCase();

/** The peer certificate's fingerprint on a TLS socket, or '' when it sent none. */
export function peerFingerprint(socket: TLSSocket): string {
  const cert = socket.getPeerCertificate();
  return cert && cert.fingerprint256 ? normalizeFingerprint(cert.fingerprint256) : '';
}

export class TunnelError extends Error {
  override name = 'TunnelError';
}

/**
 * Connects to the dqlite node of the member at `address` ("host:port", its cluster address) through its HTTPS.
 * Resolves with the raw stream once the upgrade is accepted; rejects on a wrong peer certificate, a refusal or
 * after `timeoutMs`.
 */
export function dialMemberDatabase(address: string, tls: ClusterTls, timeoutMs = 5_000): Promise<Duplex> {
  const { host, port } = parseListenAddress(address);
  return new Promise<Duplex>((resolve, reject) => {
    let settled = false;
    const socket = tlsConnect({ host, port, cert: tls.cert, key: tls.key, rejectUnauthorized: false, checkServerIdentity: () => undefined });
    // dqlite and raft send small request/response messages: no Nagle delay.
    socket.setNoDelay(true);
    const fail = (err: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    };
    const timer = setTimeout(() => fail(new TunnelError(`Timed out connecting to the database on ${address}`)), timeoutMs);
    socket.once('error', (err) => fail(new TunnelError(`Failed to connect to the database on ${address}: ${err.message}`)));
    socket.once('close', () => fail(new TunnelError(`Connection to the database on ${address} closed during the upgrade`)));
    socket.once('secureConnect', () => {
      if (peerFingerprint(socket) !== tls.fingerprint) {
        fail(new TunnelError(`The member at ${address} does not present the cluster certificate`));
        return;
      }
      socket.write(
        `GET ${DATABASE_UPGRADE_PATH} HTTP/1.1\r\nHost: ${address}\r\nConnection: Upgrade\r\nUpgrade: ${DATABASE_UPGRADE_PROTOCOL}\r\n\r\n`,
      );
    });
    let header = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      header = Buffer.concat([header, chunk]);
      const end = header.indexOf('\r\n\r\n');
      if (end < 0) {
        if (header.length > 16_384) fail(new TunnelError(`Bad upgrade response from ${address}`));
        return;
      }
      socket.off('data', onData);
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(header.subarray(0, end).toString('latin1'));
      if (status?.[1] !== '101') {
        fail(new TunnelError(`The member at ${address} refused the database connection (HTTP ${status?.[1] ?? '?'})`));
        return;
      }
      const rest = header.subarray(end + 4);
      settled = true;
      clearTimeout(timer);
      socket.removeAllListeners('error');
      socket.removeAllListeners('close');
      // Held until the new owner listens: it may attach 'data' (which does not resume an explicitly paused
      // stream) or pipe it (which does).
      socket.pause();
      if (rest.length > 0) socket.unshift(rest);
      const onListener = (event: string | symbol) => {
        if (event !== 'data') return;
        socket.off('newListener', onListener);
        process.nextTick(() => socket.resume());
      };
      socket.on('newListener', onListener);
      resolve(socket);
    };
    socket.on('data', onData);
  });
}

export interface DatabaseUpgradeOptions {
  /** The cluster certificate, or null while this daemon is not clustered. */
  tls: () => ClusterTls | null;
  /** Where the local dqlite node listens (`@abstract` or a path), or null when none runs. */
  localNode: () => string | null;
}

/** Connects to a local listener: `@name` is an abstract unix socket, anything else a filesystem path. */
export function connectLocal(address: string): Socket {
  return netConnect({ path: address.startsWith('@') ? `\0${address.slice(1)}` : address });
}

/**
 * Handles `GET /internal/database` upgrades on the HTTPS listener: only a peer presenting the cluster certificate
 * gets through to the local dqlite node. Returns false for other requests (the next handler's turn).
 */
export function handleDatabaseUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, options: DatabaseUpgradeOptions): boolean {
  const path = (req.url ?? '').split('?')[0];
  if (path !== DATABASE_UPGRADE_PATH) return false;
  const refuse = (code: number, text: string) => {
    socket.end(`HTTP/1.1 ${code} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  };
  if ((req.headers['upgrade'] ?? '').toLowerCase() !== DATABASE_UPGRADE_PROTOCOL) {
    refuse(400, 'Bad Request');
    return true;
  }
  const tls = options.tls();
  const tlsSocket = req.socket as Partial<TLSSocket>;
  if (!tls || typeof tlsSocket.getPeerCertificate !== 'function' || peerFingerprint(tlsSocket as TLSSocket) !== tls.fingerprint) {
    refuse(403, 'Forbidden');
    return true;
  }
  const node = options.localNode();
  if (!node) {
    refuse(503, 'Service Unavailable');
    return true;
  }
  const backend = connectLocal(node);
  backend.once('connect', () => {
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: ${DATABASE_UPGRADE_PROTOCOL}\r\n\r\n`);
    if (head.length > 0) backend.write(head);
    splice(socket, backend);
  });
  backend.once('error', () => {
    if (!backend.readyState || backend.connecting) refuse(503, 'Service Unavailable');
    socket.destroy();
  });
  return true;
}

/** Pipes two streams both ways; either side ending or failing ends both. */
export function splice(a: Duplex, b: Duplex): void {
  a.pipe(b);
  b.pipe(a);
  const close = () => {
    a.destroy();
    b.destroy();
  };
  a.once('error', close);
  b.once('error', close);
  a.once('close', close);
  b.once('close', close);
  (a as Socket).setNoDelay?.(true);
  (b as Socket).setNoDelay?.(true);
}
