// metadata.yaml of an instance volume (a copy of its image's): read for templates and when publishing. The parser
// is the one shared with the API (@lxdts/api-types); a malformed file fails the request with a 400.
import { type ImageMetadata, ImageMetadataError, parseImageMetadataYaml } from '@lxdts/api-types';
import { badRequest } from '../errors.js';

export function parseVolumeMetadata(text: string): ImageMetadata {
  try {
    return parseImageMetadataYaml(text);
  } catch (err) {
    if (err instanceof ImageMetadataError) throw badRequest(err.message);
    throw err;
  }
}
