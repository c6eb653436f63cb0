// metadata.yaml, the file at the top of every LXD image (and of every instance volume made from one): parsed into
// api.ImageMetadata and written back. Pure (no I/O), shared by the API (image import) and the agent (templates,
// publish). Every scalar is read as text (YAML failsafe schema), as Go's typed decoding of api.ImageMetadata sees it.
// Only the shape is checked here; LXD's own rules for imports (known architecture, creation date) are the API's.
import { parse, stringify } from 'yaml';
import type { ImageMetadata, ImageMetadataTemplate } from './image.js';

/** metadata.yaml that is not YAML or not of api.ImageMetadata's shape; callers answer it with a 400. */
export class ImageMetadataError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ImageMetadataError';
  }
}

type Yaml = string | Yaml[] | { [key: string]: Yaml } | null | undefined;

const isMap = (v: Yaml): v is { [key: string]: Yaml } => typeof v === 'object' && v !== null && !Array.isArray(v);
const empty = (v: Yaml): v is '' | null | undefined => v === undefined || v === null || v === '';
const invalid = (what: string): ImageMetadataError => new ImageMetadataError(`Invalid metadata.yaml: ${what}`);

function integer(value: Yaml, field: string): number {
  if (empty(value)) return 0;
  if (typeof value !== 'string' || !/^[-+]?\d+$/.test(value.trim())) throw invalid(`${field} must be an integer`);
  return Number.parseInt(value, 10);
}

function text(value: Yaml, field: string): string {
  if (empty(value)) return '';
  if (typeof value !== 'string') throw invalid(`${field} must be a string`);
  return value;
}

function stringMap(value: Yaml, field: string): Record<string, string> {
  if (empty(value)) return {};
  if (!isMap(value)) throw invalid(`${field} must be a map`);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) {
    if (v !== null && typeof v !== 'string') throw invalid(`${field}.${k} must be a string`);
    out[k] = v ?? '';
  }
  return out;
}

function bool(value: Yaml, field: string): boolean {
  if (empty(value)) return false;
  const v = typeof value === 'string' ? value.toLowerCase() : '';
  if (['true', 'yes', 'on', 'y'].includes(v)) return true;
  if (['false', 'no', 'off', 'n'].includes(v)) return false;
  throw invalid(`${field} must be a boolean`);
}

function template(value: Yaml, path: string): ImageMetadataTemplate {
  if (!isMap(value)) throw invalid(`templates.${path} must be a map`);
  const when = value['when'] ?? [];
  if (!Array.isArray(when) || when.some((w) => typeof w !== 'string')) throw invalid(`templates.${path}.when must be a list of strings`);
  return {
    when: when as string[],
    create_only: bool(value['create_only'], `templates.${path}.create_only`),
    template: text(value['template'], `templates.${path}.template`),
    properties: stringMap(value['properties'], `templates.${path}.properties`),
  };
}

/** Parses metadata.yaml; missing fields are zero values. Throws ImageMetadataError. */
export function parseImageMetadataYaml(yamlText: string): ImageMetadata {
  let doc: Yaml;
  try {
    doc = parse(yamlText, { schema: 'failsafe' }) as Yaml;
  } catch (err) {
    throw new ImageMetadataError(`Failed to parse metadata.yaml: ${(err as Error).message}`);
  }
  if (empty(doc)) doc = {};
  if (!isMap(doc)) throw invalid('not a map');
  const architecture = text(doc['architecture'], 'architecture');
  const templates: Record<string, ImageMetadataTemplate> = {};
  const templatesYaml = doc['templates'];
  if (!empty(templatesYaml)) {
    if (!isMap(templatesYaml)) throw invalid('templates must be a map');
    for (const [path, tpl] of Object.entries(templatesYaml)) templates[path] = template(tpl, path);
  }
  return {
    architecture,
    creation_date: integer(doc['creation_date'], 'creation_date'),
    expiry_date: integer(doc['expiry_date'], 'expiry_date'),
    properties: stringMap(doc['properties'], 'properties'),
    templates,
  };
}

/** metadata.yaml text in the field order of LXD's api.ImageMetadata (what `lxc publish` writes into images). */
export function stringifyImageMetadataYaml(meta: ImageMetadata): string {
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
