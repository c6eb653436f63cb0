import { Injectable } from '@nestjs/common';
import { array, boolean, object, optional, presentKeys, string, stringMap } from '../http/body-schema.js';
import { async, created, emptySync, sync } from '../http/response.js';
import type { RequestContext } from '../http/request-context.js';
import type { Route, RouteProvider } from '../http/route.js';
import { ImageAliasesService } from './image-aliases.service.js';
import { exportResponse } from './image-export.js';
import { ImagesPostService } from './images-post.service.js';
import { ImagesService } from './images.service.js';

const ImagePutBody = object({
  auto_update: boolean,
  properties: stringMap,
  public: boolean,
  expires_at: string,
  // null and absent mean ["default"]; [] means no profile at all.
  profiles: optional(array(string)),
});
const AliasPostBody = object({ name: string, target: string, description: string, type: string });
const AliasPutBody = object({ target: string, description: string });
const AliasRenameBody = object({ name: string });

const fingerprintOf = (ctx: RequestContext): string => ctx.params['fingerprint'] ?? '';
/** Alias names may contain "/" (LXD routes them as `{name:.*}`). */
const aliasOf = (ctx: RequestContext): string => ctx.params['*'] ?? '';

@Injectable()
export class ImagesRoutes implements RouteProvider {
  constructor(
    private readonly images: ImagesService,
    private readonly posts: ImagesPostService,
    private readonly aliases: ImageAliasesService,
  ) {}

  routes(): Route[] {
    return [
      {
        path: '/1.0/images',
        // Untrusted callers get the public images only.
        get: {
          access: 'untrusted',
          handler: async (ctx) => {
            const images = await this.images.list(ctx.project, ctx.identity, ctx.query['filter'] ?? '');
            return sync(ctx.recursion > 0 ? images : images.map((i) => `/1.0/images/${i.fingerprint}`));
          },
        },
        post: {
          access: 'project',
          streamBody: true,
          handler: async (ctx) =>
            async(
              await this.posts.upload({
                project: ctx.project,
                body: ctx.bodyStream,
                headers: ctx.headers,
                identity: ctx.identity,
              }),
            ),
        },
      },
      {
        path: '/1.0/images/aliases',
        get: {
          access: 'project',
          handler: async (ctx) => sync(ctx.recursion > 0 ? await this.aliases.list(ctx.project) : await this.aliases.urls(ctx.project)),
        },
        post: {
          access: 'project',
          handler: async (ctx) => created(await this.aliases.create(ctx.project, ctx.body(AliasPostBody), ctx.identity)),
        },
      },
      {
        path: '/1.0/images/aliases/*',
        // Aliases of public images are visible to untrusted callers.
        get: {
          access: 'untrusted',
          handler: async (ctx) => {
            const alias = await this.aliases.get(ctx.project, aliasOf(ctx), ctx.identity);
            return sync(alias, { etag: alias });
          },
        },
        put: { access: 'project', handler: (ctx) => this.updateAlias(ctx, false) },
        patch: { access: 'project', handler: (ctx) => this.updateAlias(ctx, true) },
        post: {
          access: 'project',
          handler: async (ctx) =>
            created(await this.aliases.rename(ctx.project, aliasOf(ctx), ctx.body(AliasRenameBody).name, ctx.identity)),
        },
        delete: {
          access: 'project',
          handler: async (ctx) => {
            await this.aliases.delete(ctx.project, aliasOf(ctx), ctx.identity);
            return emptySync();
          },
        },
      },
      {
        path: '/1.0/images/:fingerprint',
        get: {
          access: 'untrusted',
          handler: async (ctx) => {
            const image = await this.images.get(ctx.project, fingerprintOf(ctx), ctx.identity);
            return sync(image, { etag: this.images.etagOf(image) });
          },
        },
        put: { access: 'project', handler: (ctx) => this.updateImage(ctx, false) },
        patch: { access: 'project', handler: (ctx) => this.updateImage(ctx, true) },
        delete: {
          access: 'project',
          handler: async (ctx) => async(await this.images.delete(ctx.project, fingerprintOf(ctx), ctx.identity)),
        },
      },
      {
        path: '/1.0/images/:fingerprint/export',
        get: {
          access: 'untrusted',
          handler: async (ctx) => exportResponse(await this.images.exportFiles(ctx.project, fingerprintOf(ctx), ctx.identity)),
        },
      },
    ];
  }

  private async updateImage(ctx: RequestContext, patch: boolean) {
    const put = ctx.body(ImagePutBody);
    const present = patch ? presentKeys(ctx.rawBody) : null;
    await this.images.update(ctx.project, fingerprintOf(ctx), { put, present }, ctx.ifMatch, ctx.identity);
    return emptySync();
  }

  private async updateAlias(ctx: RequestContext, patch: boolean) {
    const put = ctx.body(AliasPutBody);
    const present = patch ? presentKeys(ctx.rawBody) : null;
    await this.aliases.update(ctx.project, aliasOf(ctx), put, present, ctx.ifMatch, ctx.identity);
    return emptySync();
  }
}
