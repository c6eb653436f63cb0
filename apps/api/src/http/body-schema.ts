// Request-body decoding at the edge. Mirrors Go's encoding/json as LXD uses it: missing or null fields take their
// zero value, unknown fields are ignored, a wrong JSON type is a 400.
import { badRequest } from './api-error.js';

export type Decoder<T> = (value: unknown, path: string) => T;
export type Decoded<D> = D extends Decoder<infer T> ? T : never;

const typeName = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);

function mismatch(path: string, want: string, got: unknown): never {
  throw badRequest(`Invalid value for field "${path}": expected ${want}, got ${typeName(got)}`);
}

export const string: Decoder<string> = (v, p) => (v == null ? '' : typeof v === 'string' ? v : mismatch(p, 'string', v));

export const boolean: Decoder<boolean> = (v, p) => (v == null ? false : typeof v === 'boolean' ? v : mismatch(p, 'boolean', v));

export const integer: Decoder<number> = (v, p) =>
  v == null ? 0 : typeof v === 'number' && Number.isInteger(v) ? v : mismatch(p, 'integer', v);

/** map[string]string, as LXD config maps: every value must be a JSON string. */
export const stringMap: Decoder<Record<string, string>> = (v, p) => {
  if (v == null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) return mismatch(p, 'object of strings', v);
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v as Record<string, unknown>)) {
    if (typeof val !== 'string') mismatch(`${p}.${k}`, 'string', val);
    out[k] = val as string;
  }
  return out;
};

export function record<T>(item: Decoder<T>): Decoder<Record<string, T>> {
  return (v, p) => {
    if (v == null) return {};
    if (typeof v !== 'object' || Array.isArray(v)) return mismatch(p, 'object', v);
    const out: Record<string, T> = {};
    for (const [k, val] of Object.entries(v as Record<string, unknown>)) out[k] = item(val, `${p}.${k}`);
    return out;
  };
}

export function array<T>(item: Decoder<T>): Decoder<T[]> {
  return (v, p) => {
    if (v == null) return [];
    if (!Array.isArray(v)) return mismatch(p, 'array', v);
    return v.map((x, i) => item(x, `${p}[${i}]`));
  };
}

/** Keeps `null` distinct from a value (for fields where LXD distinguishes nil, e.g. PATCH). */
export function optional<T>(item: Decoder<T>): Decoder<T | undefined> {
  return (v, p) => (v === undefined || v === null ? undefined : item(v, p));
}

export function oneOf<const T extends string>(values: readonly T[], allowEmpty = true): Decoder<T | ''> {
  return (v, p) => {
    const s = string(v, p);
    if (s === '' && allowEmpty) return '';
    if (!(values as readonly string[]).includes(s)) {
      throw badRequest(`Invalid value for field "${p}": "${s}" (must be one of ${values.join(', ')})`);
    }
    return s as T;
  };
}

type Shape = Record<string, Decoder<unknown>>;
export type ObjectOf<S extends Shape> = { [K in keyof S]: Decoded<S[K]> };

export function object<S extends Shape>(shape: S): Decoder<ObjectOf<S>> {
  return (v, p) => {
    if (v == null) v = {};
    if (typeof v !== 'object' || Array.isArray(v)) return mismatch(p || 'body', 'object', v);
    const input = v as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const [key, dec] of Object.entries(shape)) out[key] = dec(input[key], p ? `${p}.${key}` : key);
    return out as ObjectOf<S>;
  };
}

/** Parses a JSON request body. An empty body decodes as `null` (lxc sends `""` on GET). */
export function parseJson(raw: Buffer | undefined): unknown {
  if (!raw || raw.length === 0) return null;
  const text = raw.toString('utf8');
  if (text.trim() === '' || text.trim() === '""') return null;
  try {
    return JSON.parse(text);
  } catch (err) {
    throw badRequest(`Invalid JSON body: ${(err as Error).message}`);
  }
}

/** Decodes a request body that must be there: an empty one is refused as LXD does ("EOF"), never read as `{}`. */
export function decodeBody<T>(raw: Buffer | undefined, decoder: Decoder<T>): T {
  if (!raw || raw.toString('utf8').trim() === '') throw badRequest('EOF');
  return decoder(parseJson(raw), '');
}

/** A JSON object body, keeping which keys were present (PATCH needs it). */
export function presentKeys(raw: Buffer | undefined): Set<string> {
  const v = parseJson(raw);
  return new Set(v && typeof v === 'object' && !Array.isArray(v) ? Object.keys(v) : []);
}
