// The console request as LXD 5.0.2 reads it (POST /1.0/instances/{name}/console, api.InstanceConsolePost): the body
// is read whole and json.Unmarshal'ed, so an empty one is "unexpected end of JSON input" and a wrong type is Go's
// UnmarshalTypeError; missing fields are zero values.
import { badRequest } from '../http/api-error.js';
import { parseJson } from '../http/body-schema.js';

/** api.InstanceConsolePost. */
export interface InstanceConsolePost {
  width: number;
  height: number;
  /** `console` (the default when empty) or `vga` (virtual machines only). */
  type: string;
}

/** The JSON type name Go's UnmarshalTypeError reports ("number 1.5" for a fraction into an int). */
function goValueName(v: unknown, forInt: boolean): string {
  if (typeof v === 'number') return forInt ? `number ${String(v)}` : 'number';
  if (typeof v === 'boolean') return 'bool';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'object') return 'object';
  return typeof v;
}

const mismatch = (field: string, v: unknown, goType: 'int' | 'string'): never => {
  throw badRequest(`json: cannot unmarshal ${goValueName(v, goType === 'int')} into Go struct field InstanceConsolePost.${field} of type ${goType}`);
};

function goInt(o: Record<string, unknown>, field: string): number {
  const v = o[field];
  if (v === undefined || v === null) return 0;
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) return mismatch(field, v, 'int');
  return v;
}

function goString(o: Record<string, unknown>, field: string): string {
  const v = o[field];
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') return mismatch(field, v, 'string');
  return v;
}

export function decodeConsolePost(raw: Buffer | undefined): InstanceConsolePost {
  if (!raw || raw.toString('utf8').trim() === '') throw badRequest('unexpected end of JSON input');
  const v = parseJson(raw);
  if (v === null) return { width: 0, height: 0, type: '' };
  if (typeof v !== 'object' || Array.isArray(v)) throw badRequest(`json: cannot unmarshal ${goValueName(v, false)} into Go value of type api.InstanceConsolePost`);
  const o = v as Record<string, unknown>;
  return { width: goInt(o, 'width'), height: goInt(o, 'height'), type: goString(o, 'type') };
}

/** LXD's checks on the type, before the instance's state: only `console` for containers. */
export function consoleType(post: InstanceConsolePost): 'console' {
  const type = post.type === '' ? 'console' : post.type;
  if (type === 'vga') throw badRequest('VGA console is only supported by virtual machines');
  if (type !== 'console') throw badRequest(`Unknown console type "${post.type}"`);
  return type;
}
