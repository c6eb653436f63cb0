// The shape of the declarative route table: one entry per path, handlers per verb, each with its access rule.
import type { HandlerResponse } from './response.js';
import type { RequestContext } from './request-context.js';

/**
 * Who may call an endpoint (LXD's AllowUntrusted / access handlers):
 * - untrusted: anyone, including clients whose certificate is not in the trust store;
 * - authenticated: any trusted client, restricted ones included (operations, events);
 * - project: trusted, and a restricted client only within its projects;
 * - admin: unrestricted trusted clients only (server config, certificates, pools).
 */
export type Access = 'untrusted' | 'authenticated' | 'project' | 'admin';

export type Handler = (ctx: RequestContext) => HandlerResponse | Promise<HandlerResponse>;

export interface Endpoint {
  access: Access;
  handler: Handler;
  /** Max request body size in bytes; default the router's JSON limit. */
  bodyLimit?: number;
  /**
   * The handler reads the body itself from `ctx.bodyStream` (uploads); nothing is buffered. 'octet-stream': only
   * bodies sent as application/octet-stream (`lxc import` on POST /1.0/instances); others are buffered as usual.
   */
  streamBody?: boolean | 'octet-stream';
}

export type Verb = 'get' | 'put' | 'post' | 'patch' | 'delete';
export const Verbs: readonly Verb[] = ['get', 'put', 'post', 'patch', 'delete'];

export type Route = { path: string } & Partial<Record<Verb, Endpoint>>;

/** Implemented by every `<resource>.routes.ts`; the list of them is in `routes.ts`. */
export interface RouteProvider {
  routes(): Route[];
}
