// Images and image aliases (rest-api.yaml definitions Image*, extensions image_types, images_expiry, image_profiles).

export type ImageType = 'container' | 'virtual-machine';

/** The writable part of an image (PUT /1.0/images/{fingerprint}); also what its ETag covers. */
export interface ImagePut {
  auto_update: boolean;
  properties: Record<string, string>;
  public: boolean;
  /** RFC 3339; "1970-01-01T00:00:00Z" when the image never expires. */
  expires_at: string;
  /** Profiles applied to instances created from the image when the client names none. */
  profiles: string[];
}

/** An alias as listed inside an image. */
export interface ImageAlias {
  name: string;
  description: string;
}

/** Where a cached image came from (auto-update). */
export interface ImageSource {
  alias: string;
  certificate: string;
  protocol: string;
  server: string;
  image_type: string;
}

/** GET /1.0/images/{fingerprint} */
export interface Image extends ImagePut {
  aliases: ImageAlias[];
  architecture: string;
  cached: boolean;
  filename: string;
  fingerprint: string;
  size: number;
  update_source?: ImageSource;
  type: ImageType;
  created_at: string;
  /** "0001-01-01T00:00:00Z" until an instance is created from the image. */
  last_used_at: string;
  uploaded_at: string;
}

/** `source` of POST /1.0/images with a JSON body. */
export interface ImagesPostSource {
  /** instance, container, virtual-machine, snapshot, image or url */
  type: string;
  /** Instance or snapshot ("c1/snap0") to publish. */
  name: string;
  alias: string;
  fingerprint: string;
  certificate: string;
  image_type: string;
  mode: string;
  project: string;
  protocol: string;
  secret: string;
  server: string;
  url: string;
}

/** POST /1.0/images with a JSON body (raw uploads carry X-LXD-* headers instead). */
export interface ImagesPost extends ImagePut {
  filename: string;
  source: ImagesPostSource | null;
  compression_algorithm: string;
  aliases: ImageAlias[];
}

/** The writable part of an alias (PUT /1.0/images/aliases/{name}). */
export interface ImageAliasesEntryPut {
  description: string;
  target: string;
}

/** GET /1.0/images/aliases/{name} */
export interface ImageAliasesEntry extends ImageAliasesEntryPut {
  name: string;
  /** The target image's type. */
  type: ImageType;
}

/** POST /1.0/images/aliases (`type` is accepted and ignored: an alias has its image's type). */
export interface ImageAliasesPost extends ImageAliasesEntryPut {
  name: string;
  type: string;
}

/** POST /1.0/images/aliases/{name} (rename) */
export interface ImageAliasesEntryPost {
  name: string;
}

/** One entry of `templates` in metadata.yaml. */
export interface ImageMetadataTemplate {
  when: string[];
  create_only: boolean;
  template: string;
  properties: Record<string, string>;
}

/** metadata.yaml of an image (and of instances: GET /1.0/instances/{name}/metadata). */
export interface ImageMetadata {
  architecture: string;
  /** Unix seconds. */
  creation_date: number;
  /** Unix seconds, 0 = never. */
  expiry_date: number;
  properties: Record<string, string>;
  templates: Record<string, ImageMetadataTemplate>;
}

/** POST /1.0/images/{fingerprint}/export (push to another server). */
export interface ImageExportPost {
  target: string;
  secret: string;
  certificate: string;
  aliases: ImageAlias[];
  project: string;
  profiles: string[];
}
