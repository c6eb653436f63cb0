// Any member serves any request: what must run on another member is passed on to it over HTTPS with the cluster
// certificate, and its answer streamed back as it is (status, headers, body) — as LXD forwards requests. Passed on:
//   - `?target=<other member>`: the request is for that member (e.g. `lxc launch --target m2`);
//   - `/1.0/instances/<name>[/...]` (and `/1.0/containers/...`) of an instance another member holds;
//   - `/1.0/operations/<id>[/...]` of an operation running on another member (found by asking the members).
// The caller's access was checked here first; the member it is passed to trusts the cluster certificate. A request
// that was already passed on once (header x-lxdts-forwarded) is never passed on again.
import { request } from 'node:https';
import type { IncomingMessage } from 'node:http';
import { connect as tlsConnect } from 'node:tls';
import type { Duplex } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { RequestContext } from '../http/request-context.js';
import { parseListenAddress } from '../daemon/listeners.js';
import type { ClusterRuntime } from './cluster-runtime.js';
import { splice } from './database-tunnel.js';
import { memberRequest } from './member-client.js';

export const FORWARDED_HEADER = 'x-lxdts-forwarded';
const INSTANCE_PATH = /^\/1\.0\/(?:instances|containers)\/([^/]+)(?:\/.*)?$/;
const OPERATION_PATH = /^\/1\.0\/operations\/([^/]+)(?:\/.*)?$/;
/** Headers that belong to one hop. */
const HOP_HEADERS = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'host', 'proxy-connection']);

export interface ForwarderDeps {
  runtime: ClusterRuntime;
  /** The member holding an instance (undefined: no such instance; the local handler answers). */
  instanceHolder(project: string, name: string): Promise<{ name: string; address: string } | undefined>;
  /** Member addresses by name. */
  members(): Promise<{ name: string; address: string }[]>;
  /** Whether an operation lives on this member. */
  hasOperation(id: string): boolean;
}

export class RequestForwarder {
  /** Where remote operations were found (id → address), for the client's next requests about them. */
  private readonly operationHomes = new Map<string, string>();

  constructor(private readonly deps: ForwarderDeps) {}

  /** The member address a request must go to, or null to handle it here. */
  async destination(ctx: RequestContext, headers: IncomingMessage['headers']): Promise<string | null> {
    const { runtime } = this.deps;
    if (!runtime.member.clustered || !runtime.tls || headers[FORWARDED_HEADER]) return null;
    const self = runtime.member.name;
    if (ctx.target !== '' && ctx.target !== self) {
      return (await this.deps.members()).find((m) => m.name === ctx.target)?.address ?? null;
    }
    const instance = INSTANCE_PATH.exec(ctx.path);
    if (instance) {
      const holder = await this.deps.instanceHolder(ctx.project, decodeURIComponent(instance[1]!));
      return holder && holder.name !== self ? holder.address : null;
    }
    const operation = OPERATION_PATH.exec(ctx.path);
    // Unknown here and no member found (or the database is unavailable): answered here (404).
    if (operation) return this.operationHome(decodeURIComponent(operation[1]!)).catch(() => null);
    return null;
  }

  /** The member running operation `id` when it is not this one (asked in parallel, remembered). */
  async operationHome(id: string): Promise<string | null> {
    if (this.deps.hasOperation(id)) return null;
    const known = this.operationHomes.get(id);
    if (known) return known;
    const tls = this.deps.runtime.tls!;
    const self = this.deps.runtime.member.address;
    const others = (await this.deps.members()).filter((m) => m.address !== self);
    const found = await Promise.all(
      others.map((m) =>
        // Marked as passed on already: each member answers for itself only.
        memberRequest(m.address, 'GET', `/1.0/operations/${encodeURIComponent(id)}`, undefined, { pinned: tls.cert, cert: tls.cert, key: tls.key }, 2_000, {
          [FORWARDED_HEADER]: this.deps.runtime.member.name,
        }).then(
          () => m.address,
          () => null,
        ),
      ),
    );
    const home = found.find((a) => a !== null) ?? null;
    if (home) {
      this.operationHomes.set(id, home);
      if (this.operationHomes.size > 1000) this.operationHomes.delete(this.operationHomes.keys().next().value!);
    }
    return home;
  }

  /** Passes the request on to `address` and streams the answer back (the reply is taken over). */
  async forward(address: string, ctx: RequestContext, req: FastifyRequest, reply: FastifyReply): Promise<void> {
    const tls = this.deps.runtime.tls!;
    const { host, port } = parseListenAddress(address);
    const headers: Record<string, string | string[]> = {};
    for (const [k, v] of Object.entries(req.headers)) if (v !== undefined && !HOP_HEADERS.has(k)) headers[k] = v;
    headers[FORWARDED_HEADER] = this.deps.runtime.member.name;
    reply.hijack();
    const res = reply.raw;
    await new Promise<void>((resolve) => {
      const out = request(
        {
          host,
          port,
          method: req.method,
          path: req.url,
          headers,
          cert: tls.cert,
          key: tls.key,
          ca: [tls.cert],
          checkServerIdentity: () => undefined,
          agent: false,
        },
        (answer) => {
          const h: Record<string, string | string[]> = {};
          for (const [k, v] of Object.entries(answer.headers)) if (v !== undefined && !HOP_HEADERS.has(k)) h[k] = v;
          res.writeHead(answer.statusCode ?? 502, h);
          answer.pipe(res);
          answer.on('end', resolve);
          answer.on('error', () => {
            res.destroy();
            resolve();
          });
        },
      );
      out.on('error', (err) => {
        if (!res.headersSent) {
          const body = JSON.stringify({ type: 'error', status: '', status_code: 0, operation: '', error_code: 503, error: `Cluster member ${address} is unreachable: ${err.message}`, metadata: null });
          res.writeHead(503, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
        } else res.destroy();
        resolve();
      });
      if (ctx.rawBody) out.end(ctx.rawBody);
      else if (ctx.bodyStream) ctx.bodyStream.pipe(out);
      else out.end();
    });
  }

  /**
   * A websocket upgrade for an operation on another member (`lxc exec` and `lxc console` connect to the member they
   * talk to): the upgrade request goes to the operation's member and, once it answers, bytes flow both ways.
   * Returns false when the operation is not remote (the local handlers answer).
   */
  async forwardUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<boolean> {
    const path = (req.url ?? '').split('?')[0] ?? '';
    const m = OPERATION_PATH.exec(path);
    const { runtime } = this.deps;
    if (!m || !runtime.member.clustered || !runtime.tls || req.headers[FORWARDED_HEADER]) return false;
    const address = await this.operationHome(decodeURIComponent(m[1]!));
    if (!address) return false;
    const tls = runtime.tls;
    const { host, port } = parseListenAddress(address);
    const peer = tlsConnect({ host, port, cert: tls.cert, key: tls.key, ca: [tls.cert], checkServerIdentity: () => undefined });
    peer.setNoDelay(true);
    peer.once('secureConnect', () => {
      const lines = [`${req.method ?? 'GET'} ${req.url} HTTP/1.1`];
      for (let i = 0; i < req.rawHeaders.length; i += 2) {
        const k = req.rawHeaders[i]!;
        if (k.toLowerCase() === FORWARDED_HEADER) continue;
        lines.push(`${k}: ${req.rawHeaders[i + 1]}`);
      }
      lines.push(`${FORWARDED_HEADER}: ${runtime.member.name}`);
      peer.write(`${lines.join('\r\n')}\r\n\r\n`);
      if (head.length > 0) peer.write(head);
      splice(socket, peer);
    });
    peer.once('error', () => socket.destroy());
    return true;
  }
}
