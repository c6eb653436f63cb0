// Database rows to the wire shapes of images and aliases, in LXD's field order.
import type { Image, ImageAliasesEntry, ImagePut, ImageType } from '@lxdts/api-types';
import { architectureName } from './architectures.js';
import { EPOCH_TIME, ZERO_TIME, goTime } from './image-dates.js';
import type { AliasRow, ImageRow } from './images.repository.js';

export const imageTypeName = (code: number): ImageType => (code === 1 ? 'virtual-machine' : 'container');

export function toApiImage(row: ImageRow): Image {
  return {
    auto_update: row.autoUpdate,
    properties: row.properties,
    public: row.public,
    expires_at: goTime(row.expiryDate, EPOCH_TIME),
    profiles: row.profiles,
    aliases: row.aliases,
    architecture: architectureName(row.architecture),
    cached: row.cached,
    filename: row.filename,
    fingerprint: row.fingerprint,
    size: row.size,
    type: imageTypeName(row.type),
    created_at: goTime(row.creationDate, ZERO_TIME),
    last_used_at: goTime(row.lastUseDate, ZERO_TIME),
    uploaded_at: goTime(row.uploadDate, ZERO_TIME),
  };
}

/** The writable part of an image, which its ETag covers. */
export function imageEtag(image: Image): ImagePut {
  return {
    auto_update: image.auto_update,
    properties: image.properties,
    public: image.public,
    expires_at: image.expires_at,
    profiles: image.profiles,
  };
}

export function toApiAlias(row: AliasRow): ImageAliasesEntry {
  return { description: row.description, target: row.fingerprint, name: row.name, type: imageTypeName(row.imageType) };
}
