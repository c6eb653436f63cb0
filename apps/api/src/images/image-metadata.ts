// metadata.yaml: reading it out of an image file and validating it as LXD does (architecture known, creation date
// set), plus the instance type the tarball holds (rootfs/ for containers, rootfs.img for VMs).
import { type ImageMetadata, ImageMetadataError, type ImageType, parseImageMetadataYaml } from '@lxdts/api-types';
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

/** Parses metadata.yaml and validates it as LXD does for an import: a known architecture and a creation date. */
export function parseImageMetadata(text: string): ImageMetadata {
  let metadata: ImageMetadata;
  try {
    metadata = parseImageMetadataYaml(text);
  } catch (err) {
    if (err instanceof ImageMetadataError) throw badRequest(err.message);
    throw err;
  }
  architectureId(metadata.architecture);
  if (metadata.creation_date === 0) throw badRequest('Missing creation date');
  return metadata;
}
