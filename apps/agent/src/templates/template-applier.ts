// Applies an image's templates to an instance rootfs, as LXD does before starting a container:
// `<volume>/metadata.yaml` lists target paths with `when` triggers, `create_only`, the template file (in
// `<volume>/templates/`) and `properties`; each template is rendered (pongo2 subset) with the instance's context and
// written into the rootfs. New files are 0644 and owned by container root (0:0: the rootfs is not shifted on disk);
// existing files are rewritten in place (LXD truncates them, keeping mode and owner); `create_only` leaves them be.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { AgentTemplatesApplyRequest, AgentTemplatesApplyResult, ImageMetadataTemplate } from '@lxdts/api-types';
import { badRequest } from '../errors.js';
import { parseVolumeMetadata } from './image-metadata.js';
import { ContainerPathError } from '../files/container-root.js';
import { type TemplateContext, type TemplateValue, TemplateError, render } from './pongo.js';
import { readInRoot, writeInRootfs } from './template-files.js';

const TRIGGERS = new Set(['create', 'copy', 'start', 'rename']);
const MAX_METADATA = 16 * 1024 * 1024;
/** Distinct files one template may include (directly or not). */
const MAX_INCLUDED_FILES = 64;

/** The context templates see (LXD: trigger, path, container, instance, config, devices, properties, config_get). */
export function templateContext(req: AgentTemplatesApplyRequest, trigger: string, path: string, tpl: ImageMetadataTemplate): TemplateContext {
  const instance: Record<string, TemplateValue> = {
    name: req.instance.name,
    type: 'container',
    architecture: req.instance.architecture,
    ephemeral: req.instance.ephemeral ? 'true' : 'false',
    privileged: req.instance.privileged ? 'true' : 'false',
  };
  const config = req.config;
  return {
    trigger,
    path,
    container: instance,
    instance,
    config: { ...config },
    devices: Object.fromEntries(Object.entries(req.devices).map(([k, v]) => [k, { ...v }])),
    properties: { ...tpl.properties },
    // The value without trailing newlines, or the default when the key is not set at all.
    config_get: (key: TemplateValue, fallback: TemplateValue) => {
      const k = typeof key === 'string' ? key : String(key ?? '');
      return Object.hasOwn(config, k) ? (config[k] as string).replace(/[\r\n]+$/, '') : fallback;
    },
  };
}

/**
 * Renders one template of `templatesDir`. The renderer loads includes synchronously and our reads are not: a render
 * that meets an include not read yet stops, the file is read, and the render starts over (it has no side effects).
 */
async function renderTemplate(templatesDir: string, name: string, context: TemplateContext): Promise<string> {
  const source = await readInRoot(templatesDir, name);
  const included = new Map<string, string | Error>();
  for (;;) {
    let missing: string | undefined;
    const load = (file: string): string => {
      const text = included.get(file);
      if (text === undefined) {
        missing = file;
        throw new Error('not read yet');
      }
      if (text instanceof Error) throw text;
      return text;
    };
    try {
      return render(source, context, { name, load });
    } catch (err) {
      if (missing === undefined) throw err;
      if (included.size >= MAX_INCLUDED_FILES) throw new TemplateError(`more than ${MAX_INCLUDED_FILES} included files`, 0, name);
      included.set(missing, await readInRoot(templatesDir, missing).catch((e: unknown) => (e instanceof Error ? e : new Error(String(e)))));
    }
  }
}

export async function applyTemplates(req: AgentTemplatesApplyRequest): Promise<AgentTemplatesApplyResult> {
  if (!req.rootfsPath.startsWith('/') || req.rootfsPath.split('/').includes('..')) {
    throw badRequest(`rootfsPath must be absolute: "${req.rootfsPath}"`);
  }
  for (const t of req.triggers) if (!TRIGGERS.has(t)) throw badRequest(`Unknown template trigger "${t}"`);
  const volume = dirname(req.rootfsPath);
  const metadataFile = join(volume, 'metadata.yaml');
  if (!existsSync(metadataFile)) return { rendered: [] };
  if (!existsSync(req.rootfsPath)) throw badRequest(`Root file system "${req.rootfsPath}" doesn't exist`);
  const text = readFileSync(metadataFile);
  if (text.length > MAX_METADATA) throw badRequest('metadata.yaml is too large');
  const metadata = parseVolumeMetadata(text.toString('utf8'));
  const templatesDir = join(volume, 'templates');
  // Go's map order is random; ours is the path order, so that overlapping targets behave the same every time.
  const entries = Object.entries(metadata.templates).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const rendered: string[] = [];
  for (const trigger of req.triggers) {
    for (const [path, tpl] of entries) {
      if (!tpl.when.includes(trigger)) continue;
      const what = `template "${tpl.template}" for ${path}`;
      let output: string;
      try {
        output = await renderTemplate(templatesDir, tpl.template, templateContext(req, trigger, path, tpl));
      } catch (err) {
        if (err instanceof TemplateError) throw badRequest(`Failed to render ${what}: ${err.message}`);
        if (err instanceof ContainerPathError) throw badRequest(`Failed to read ${what}: ${err.message}`);
        throw err;
      }
      try {
        const outcome = await writeInRootfs(req.rootfsPath, path, output, { createOnly: tpl.create_only, mode: 0o644, owner: { uid: 0, gid: 0 } });
        if (outcome !== 'skipped') rendered.push(`${trigger}:${path}`);
      } catch (err) {
        throw badRequest(`Failed to write ${what}: ${(err as Error).message}`);
      }
    }
  }
  return { rendered };
}
