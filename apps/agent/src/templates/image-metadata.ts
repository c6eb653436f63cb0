// metadata.yaml of an instance volume (a copy of its image's): read for templates, rewritten when publishing.
// Scalars are read as text (YAML failsafe schema), as Go's typed decoding of LXD's api.ImageMetadata would see them.
import { parse, stringify } from 'yaml';
import type { ImageMetadata, ImageMetadataTemplate } from '@lxdts/api-types';
import { badRequest } from '../errors.js';

type Yaml = string | Yaml[] | { [key: string]: Yaml } | null | undefined;

const isMap = (v: Yaml): v is { [key: string]: Yaml } => typeof v === 'object' && v !== null && !Array.isArray(v);
const empty = (v: Yaml): boolean => v === undefined || v === null || v === '';

function integer(value: Yaml, field: string): number {
  if (empty(value)) return 0;
  if (typeof value !== 'string' || !/^[-+]?\d+$/.test(value.trim())) throw badRequest(`Invalid metadata.yaml: ${field} must be an integer`);
  return Number.parseInt(value, 10);
}

function stringMap(value: Yaml, field: string): Record<string, string> {
  if (empty(value)) return {};
  if (!isMap(value)) throw badRequest(`Invalid metadata.yaml: ${field} must be a map`);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) {
    if (v !== null && typeof v !== 'string') throw badRequest(`Invalid metadata.yaml: ${field}.${k} must be a string`);
    out[k] = v ?? '';
  }
  return out;
}

function bool(value: Yaml, field: string): boolean {
  if (empty(value)) return false;
  const v = typeof value === 'string' ? value.toLowerCase() : '';
  if (['true', 'yes', 'on', 'y'].includes(v)) return true;
  if (['false', 'no', 'off', 'n'].includes(v)) return false;
  throw badRequest(`Invalid metadata.yaml: ${field} must be a boolean`);
}

function template(value: Yaml, path: string): ImageMetadataTemplate {
  if (!isMap(value)) throw badRequest(`Invalid metadata.yaml: templates.${path} must be a map`);
  const when = value['when'] ?? [];
  if (!Array.isArray(when) || when.some((w) => typeof w !== 'string')) {
    throw badRequest(`Invalid metadata.yaml: templates.${path}.when must be a list of strings`);
  }
  const tpl = value['template'];
  if (!empty(tpl) && typeof tpl !== 'string') throw badRequest(`Invalid metadata.yaml: templates.${path}.template must be a string`);
  return {
    when: when as string[],
    create_only: bool(value['create_only'], `templates.${path}.create_only`),
    template: (tpl as string | undefined | null) ?? '',
    properties: stringMap(value['properties'], `templates.${path}.properties`),
  };
}

/** Parses metadata.yaml; missing fields are zero values (no architecture or date checks: the image passed them). */
export function parseMetadata(text: string): ImageMetadata {
  let doc: Yaml;
  try {
    doc = parse(text, { schema: 'failsafe' }) as Yaml;
  } catch (err) {
    throw badRequest(`Failed to parse metadata.yaml: ${(err as Error).message}`);
  }
  if (empty(doc)) doc = {};
  if (!isMap(doc)) throw badRequest('Invalid metadata.yaml: not a map');
  const architecture = doc['architecture'];
  if (!empty(architecture) && typeof architecture !== 'string') throw badRequest('Invalid metadata.yaml: architecture must be a string');
  const templates: Record<string, ImageMetadataTemplate> = {};
  const tplYaml = doc['templates'];
  if (!empty(tplYaml)) {
    if (!isMap(tplYaml)) throw badRequest('Invalid metadata.yaml: templates must be a map');
    for (const [path, tpl] of Object.entries(tplYaml)) templates[path] = template(tpl, path);
  }
  return {
    architecture: (architecture as string | undefined | null) ?? '',
    creation_date: integer(doc['creation_date'], 'creation_date'),
    expiry_date: integer(doc['expiry_date'], 'expiry_date'),
    properties: stringMap(doc['properties'], 'properties'),
    templates,
  };
}

/** metadata.yaml text in the field order of LXD's api.ImageMetadata (what `lxc publish` writes into images). */
export function stringifyMetadata(meta: ImageMetadata): string {
  const doc: Record<string, unknown> = {
    architecture: meta.architecture,
    creation_date: meta.creation_date,
    expiry_date: meta.expiry_date,
    properties: meta.properties,
  };
  if (Object.keys(meta.templates).length > 0) {
    doc['templates'] = Object.fromEntries(
      Object.entries(meta.templates).map(([path, t]) => [
        path,
        { when: t.when, create_only: t.create_only, template: t.template, properties: t.properties },
      ]),
    );
  }
  // Strings that look like numbers or booleans are quoted, so the text reads back the same under any schema.
  return stringify(doc, { lineWidth: 0 });
}
