// Validation of request bodies at the edge: wrong or missing fields become 400 `bad_request`.
import type { AgentVolumeRef, AgentVolumeType } from '@lxdts/api-types';
import { badRequest } from '../errors.js';

export type Json = Record<string, unknown>;

export function asObject(value: unknown, what = 'body'): Json {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw badRequest(`${what} must be a JSON object`);
  return value as Json;
}

export function str(o: Json, key: string, optional?: false): string;
export function str(o: Json, key: string, optional: true): string | undefined;
export function str(o: Json, key: string, optional = false): string | undefined {
  const v = o[key];
  if (v === undefined && optional) return undefined;
  if (typeof v !== 'string') throw badRequest(`"${key}" must be a string`);
  return v;
}

export function int(o: Json, key: string, fallback?: number): number {
  const v = o[key];
  if (v === undefined && fallback !== undefined) return fallback;
  if (typeof v !== 'number' || !Number.isInteger(v)) throw badRequest(`"${key}" must be an integer`);
  return v;
}

export function bool(o: Json, key: string, fallback: boolean): boolean {
  const v = o[key];
  if (v === undefined) return fallback;
  if (typeof v !== 'boolean') throw badRequest(`"${key}" must be a boolean`);
  return v;
}

export function stringArray(o: Json, key: string): string[] {
  const v = o[key];
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw badRequest(`"${key}" must be an array of strings`);
  return v as string[];
}

export function stringMap(o: Json, key: string, optional = false): Record<string, string> {
  const v = o[key];
  if (v === undefined && optional) return {};
  const m = asObject(v, `"${key}"`);
  for (const [k, x] of Object.entries(m)) if (typeof x !== 'string') throw badRequest(`"${key}.${k}" must be a string`);
  return m as Record<string, string>;
}

export function deviceMap(o: Json, key: string): Record<string, Record<string, string>> {
  const m = asObject(o[key] ?? {}, `"${key}"`);
  const out: Record<string, Record<string, string>> = {};
  for (const name of Object.keys(m)) out[name] = stringMap(m, name);
  return out;
}

/** A volume reference ({poolSource, type, name, driver?}) under `key`. */
export function volumeRef(o: Json, key: string): AgentVolumeRef {
  const v = asObject(o[key], `"${key}"`);
  const driver = str(v, 'driver', true);
  if (driver !== undefined && driver !== 'dir' && driver !== 'btrfs') throw badRequest(`Unknown storage driver "${driver}"`);
  return { poolSource: str(v, 'poolSource'), type: str(v, 'type') as AgentVolumeType, name: str(v, 'name'), ...(driver ? { driver } : {}) };
}
