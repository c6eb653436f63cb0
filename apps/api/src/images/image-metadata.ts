// metadata.yaml: reading it out of an image file and validating it as LXD does (architecture known, creation date
// set), plus the instance type the tarball holds (rootfs/ for containers, rootfs.img for VMs).
import { parse } from 'yaml';
import type { ImageMetadata, ImageMetadataTemplate, ImageType } from '@lxdts/api-types';
import { badRequest } from '../http/api-error.js';
import { architectureId } from './architectures.js';
import { type ImageFileFormat, detectFileFormat } from './compression.js';
import { decompress } from './decompress.js';
import { tarEntries } from './tar-reader.js';

const MAX_METADATA_BYTES = 16 * 1024 * 1024;

export interface ImageFileInfo {
  metadata: ImageMetadata;
  /** Null when the tarball has no rootfs (a split image's metadata part). */
  type: ImageType | null;
  format: ImageFileFormat;
}

/** Reads metadata.yaml (and whether a rootfs follows) from a possibly compressed tarball, stopping early. */
export async function readImageFile(path: string): Promise<ImageFileInfo> {
  const format = await detectFileFormat(path);
  if (format === 'squashfs' || format === 'qcow2') throw badRequest(`Unsupported image metadata format: ${format}`);
  let yamlText: string | undefined;
  let type: ImageType | null = null;
  for await (const entry of tarEntries(decompress(path, format))) {
    if (entry.name === 'metadata.yaml' && entry.type === 'file') {
      yamlText = (await entry.read(MAX_METADATA_BYTES)).toString('utf8');
    } else if (entry.name === 'rootfs' || entry.name.startsWith('rootfs/')) {
      type = 'container';
    } else if (entry.name === 'rootfs.img') {
      type = 'virtual-machine';
    }
    if (yamlText !== undefined && type !== null) break;
  }
  if (yamlText === undefined) throw badRequest('Metadata tarball is missing metadata.yaml');
  return { metadata: parseImageMetadata(yamlText), type, format };
}

type Yaml = string | Yaml[] | { [key: string]: Yaml } | null | undefined;

const isMap = (v: Yaml): v is { [key: string]: Yaml } => typeof v === 'object' && v !== null && !Array.isArray(v);

function integer(value: Yaml, field: string): number {
  if (value === undefined || value === null || value === '') return 0;
  if (typeof value !== 'string' || !/^[-+]?\d+$/.test(value.trim())) {
    throw badRequest(`Invalid metadata.yaml: ${field} must be an integer`);
  }
  return Number.parseInt(value, 10);
}

function stringMap(value: Yaml, field: string): Record<string, string> {
  if (value === undefined || value === null || value === '') return {};
  if (!isMap(value)) throw badRequest(`Invalid metadata.yaml: ${field} must be a map`);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) {
    if (v !== null && typeof v !== 'string') throw badRequest(`Invalid metadata.yaml: ${field}.${k} must be a string`);
    out[k] = v ?? '';
  }
  return out;
}

function bool(value: Yaml, field: string): boolean {
  if (value === undefined || value === null || value === '') return false;
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
  if (tpl !== undefined && tpl !== null && typeof tpl !== 'string') {
    throw badRequest(`Invalid metadata.yaml: templates.${path}.template must be a string`);
  }
  return {
    when: when as string[],
    create_only: bool(value['create_only'], `templates.${path}.create_only`),
    template: tpl ?? '',
    properties: stringMap(value['properties'], `templates.${path}.properties`),
  };
}

/** Parses and validates metadata.yaml. Every scalar is read as text (YAML failsafe), as Go's typed decoding would. */
export function parseImageMetadata(text: string): ImageMetadata {
  let doc: Yaml;
  try {
    doc = parse(text, { schema: 'failsafe' }) as Yaml;
  } catch (err) {
    throw badRequest(`Failed to parse metadata.yaml: ${(err as Error).message}`);
  }
  if (doc === null || doc === undefined || doc === '') doc = {};
  if (!isMap(doc)) throw badRequest('Invalid metadata.yaml: not a map');
  const architecture = doc['architecture'];
  if (architecture !== undefined && architecture !== null && typeof architecture !== 'string') {
    throw badRequest('Invalid metadata.yaml: architecture must be a string');
  }
  const templatesYaml = doc['templates'];
  const templates: Record<string, ImageMetadataTemplate> = {};
  if (templatesYaml !== undefined && templatesYaml !== null && templatesYaml !== '') {
    if (!isMap(templatesYaml)) throw badRequest('Invalid metadata.yaml: templates must be a map');
    for (const [path, tpl] of Object.entries(templatesYaml)) templates[path] = template(tpl, path);
  }
  const metadata: ImageMetadata = {
    architecture: architecture ?? '',
    creation_date: integer(doc['creation_date'], 'creation_date'),
    expiry_date: integer(doc['expiry_date'], 'expiry_date'),
    properties: stringMap(doc['properties'], 'properties'),
    templates,
  };
  architectureId(metadata.architecture);
  if (metadata.creation_date === 0) throw badRequest('Missing creation date');
  return metadata;
}
