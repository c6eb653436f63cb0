// Registers the declarative route table on fastify and is the single place that writes responses:
// authentication, access rules, query parsing, envelopes, ETags and error mapping all happen here.
import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest, HTTPMethods } from 'fastify';
import { type Identity, canAccessProject } from '../auth/identity.js';
import { type TaggedRequest, type TrustStore, authenticate } from '../auth/authenticator.js';
import { ApiError, forbidden, notFound, notImplemented, toApiError } from './api-error.js';
import { installBodyParser } from './body-parser.js';
import { asyncBody, errorBody, syncBody } from './envelope.js';
import { etagOf } from './etag.js';
import { type RequestContext, bodyAccessors, parseRecursion } from './request-context.js';
import type { HandlerResponse } from './response.js';
import { type Access, type Endpoint, type Route, type Verb, Verbs } from './route.js';

export const DEFAULT_BODY_LIMIT = 8 * 1024 * 1024;

export interface RouterOptions {
  trust: TrustStore;
  /** The cluster's member names (`target=` must name one); `none` standalone. */
  memberNames: readonly string[] | (() => readonly string[]);
  /**
   * Clustered: passes a request on to the member it is for (after the access check here) and answers with that
   * member's answer; resolves false when the request is this member's to handle.
   */
  forward?: (ctx: RequestContext, req: FastifyRequest, reply: FastifyReply) => Promise<boolean>;
  /** Called with every handler failure of status >= 500, for the log. */
  onServerError?: (err: unknown, req: FastifyRequest) => void;
}

const IDENTITY = Symbol('lxdts.identity');
type Req = FastifyRequest & { [IDENTITY]?: Identity };

export function identityOf(req: FastifyRequest, trust: TrustStore): Identity {
  const r = req as Req;
  return (r[IDENTITY] ??= authenticate(req.raw as TaggedRequest, trust));
}

export function sendError(reply: FastifyReply, err: ApiError): void {
  void reply
    .code(err.status)
    .header('content-type', 'application/json')
    .header('x-content-type-options', 'nosniff')
    .send(errorBody(err.status, err.message));
}

function allowed(access: Access, identity: Identity, project: string): boolean {
  switch (access) {
    case 'untrusted':
      return true;
    case 'authenticated':
      return identity.trusted;
    case 'project':
      return canAccessProject(identity, project);
    case 'admin':
      return identity.trusted && !identity.restricted;
  }
}

function send(reply: FastifyReply, res: HandlerResponse): void {
  switch (res.kind) {
    case 'sync': {
      if (res.etag !== undefined) reply.header('etag', `"${etagOf(res.etag)}"`);
      if (res.location) reply.code(201).header('location', res.location);
      void reply.header('content-type', 'application/json').send(syncBody(res.metadata));
      return;
    }
    case 'async':
      void reply
        .code(202)
        .header('location', `/1.0/operations/${res.operation.id}`)
        .header('content-type', 'application/json')
        .send(asyncBody(res.operation));
      return;
    case 'raw':
      for (const [k, v] of Object.entries(res.headers ?? {})) reply.header(k, v);
      void reply.code(res.status).header('content-type', res.contentType).send(res.body);
  }
}

function firstValue(v: unknown): string | undefined {
  if (Array.isArray(v)) return v.length ? String(v[0]) : undefined;
  return v === undefined ? undefined : String(v);
}

function buildContext(req: FastifyRequest, identity: Identity): RequestContext {
  const q: Record<string, string> = {};
  for (const [k, v] of Object.entries((req.query ?? {}) as Record<string, unknown>)) {
    const s = firstValue(v);
    if (s !== undefined) q[k] = s;
  }
  const raw = Buffer.isBuffer(req.body) ? req.body : undefined;
  const stream = req.body instanceof Readable ? req.body : undefined;
  const url = req.url;
  const qi = url.indexOf('?');
  return {
    method: req.method,
    path: qi >= 0 ? url.slice(0, qi) : url,
    params: (req.params ?? {}) as Record<string, string>,
    query: q,
    headers: req.headers,
    identity,
    project: q['project'] || 'default',
    allProjects: q['all-projects'] === 'true' || q['all-projects'] === '1',
    recursion: parseRecursion(q['recursion']),
    target: q['target'] ?? '',
    rawBody: raw,
    bodyStream: stream,
    ifMatch: firstValue(req.headers['if-match']),
    ...bodyAccessors(raw),
  };
}

export function registerRoutes(app: FastifyInstance, table: Route[], opts: RouterOptions): void {
  installBodyParser(app);
  // Returning the reply tells fastify the response is being sent (streamed bodies finish after the handler).
  const handle = async (endpoint: Endpoint, req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    try {
      const identity = identityOf(req, opts.trust);
      const ctx = buildContext(req, identity);
      if (!allowed(endpoint.access, identity, ctx.project)) throw forbidden();
      if (ctx.target !== '' && !(typeof opts.memberNames === 'function' ? opts.memberNames() : opts.memberNames).includes(ctx.target)) throw notFound('Cluster member not found');
      if (opts.forward && (await opts.forward(ctx, req, reply))) return reply;
      send(reply, await endpoint.handler(ctx));
    } catch (err) {
      const apiErr = toApiError(err);
      if (apiErr.status >= 500) opts.onServerError?.(err, req);
      sendError(reply, apiErr);
    }
    return reply;
  };
  const seen = new Set<string>();
  for (const route of table) {
    if (seen.has(route.path)) throw new Error(`duplicate route ${route.path}`);
    seen.add(route.path);
    for (const verb of Verbs) {
      const endpoint = route[verb];
      const method = verb.toUpperCase() as HTTPMethods;
      app.route({
        method,
        url: route.path,
        bodyLimit: endpoint?.bodyLimit ?? DEFAULT_BODY_LIMIT,
        config: { streamBody: endpoint?.streamBody ?? false },
        handler: endpoint
          ? (req, reply) => handle(endpoint, req, reply)
          : async (req, reply) => {
              // Known path, unsupported verb: LXD answers 501 (an untrusted caller still gets 403 first).
              const identity = identityOf(req, opts.trust);
              sendError(reply, identity.trusted ? notImplemented() : forbidden());
            },
      });
    }
    if (route.get) {
      const get = route.get;
      app.route({ method: 'HEAD', url: route.path, handler: (req, reply) => handle(get, req, reply) });
    }
  }
  // Unknown paths are 404 for everyone, as LXD's mux.
  app.route({
    method: ['GET', 'PUT', 'POST', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'],
    url: '*',
    handler: (_req, reply) => sendError(reply, notFound()),
  });
}

export type { Verb };
