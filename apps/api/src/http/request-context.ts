// Everything a handler may read about its request, already authenticated and parsed.
import type { Readable } from 'node:stream';
import type { Identity } from '../auth/identity.js';
import { type Decoder, decodeBody, parseJson } from './body-schema.js';

export interface RequestContext {
  method: string;
  /** Path without the query string. */
  path: string;
  params: Record<string, string>;
  query: Record<string, string>;
  headers: Record<string, string | string[] | undefined>;
  identity: Identity;
  /** `?project=`, default "default". */
  project: string;
  allProjects: boolean;
  /** `?recursion=` 0, 1 or 2. */
  recursion: number;
  /** `?target=` cluster member, '' when absent. */
  target: string;
  rawBody: Buffer | undefined;
  /** The unread request body, for endpoints declared with `streamBody`. */
  bodyStream: Readable | undefined;
  /** Decodes the body with a schema; bad JSON or wrong types give a 400. */
  body<T>(decoder: Decoder<T>): T;
  /** The parsed JSON body as is (for PATCH key presence and free-form bodies). */
  json(): unknown;
  /** If-Match header value, if any. */
  ifMatch: string | undefined;
}

/** `recursion=` as LXD reads it: anything that is not a positive number means 0. */
export function parseRecursion(value: string | undefined): number {
  const n = Number.parseInt((value ?? '').split(';')[0] ?? '', 10);
  return Number.isFinite(n) && n > 0 ? Math.min(n, 2) : 0;
}

export function bodyAccessors(raw: Buffer | undefined): Pick<RequestContext, 'body' | 'json'> {
  let parsed: { v: unknown } | undefined;
  const json = (): unknown => (parsed ??= { v: parseJson(raw) }).v;
  return {
    json,
    body: <T>(decoder: Decoder<T>) => decodeBody(raw, decoder),
  };
}
