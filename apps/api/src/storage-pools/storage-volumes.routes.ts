import { Injectable } from '@nestjs/common';
import type { StorageVolume } from '@lxdts/api-types';
import { badRequest } from '../http/api-error.js';
import { boolean, object, optional, string, stringMap } from '../http/body-schema.js';
import { checkEtag } from '../http/etag.js';
import type { RequestContext } from '../http/request-context.js';
import { async, emptySync, raw, sync } from '../http/response.js';
import type { Route, RouteProvider } from '../http/route.js';
import { CustomVolumeBackupsService } from './custom-volume-backups.service.js';
import { CustomVolumesService } from './custom-volumes.service.js';
import { StorageVolumesService } from './storage-volumes.service.js';

const writable = (v: StorageVolume) => ({ config: v.config, description: v.description });

const VolumesPost = object({
  name: string,
  type: string,
  content_type: string,
  config: stringMap,
  description: string,
  source: object({ type: string, pool: string, name: string, volume_only: boolean }),
});
const VolumePut = object({ config: stringMap, description: string, restore: string });
const VolumePost = object({ name: string, pool: string });
const SnapshotsPost = object({ name: string, expires_at: optional(string) });
const SnapshotPost = object({ name: string });
const BackupsPost = object({ name: string, expires_at: string, volume_only: boolean, optimized_storage: boolean, compression_algorithm: string });
const BackupPost = object({ name: string });

/** Volumes of every type are read here; custom volumes are also written (custom-volumes.service.ts). Listed by StoragePoolsRoutes. */
@Injectable()
export class StorageVolumesRoutes implements RouteProvider {
  constructor(
    private readonly volumes: StorageVolumesService,
    private readonly custom: CustomVolumesService,
    private readonly backups: CustomVolumeBackupsService,
  ) {}

  routes(): Route[] {
    const pool = (ctx: RequestContext) => ctx.params['name'] ?? '';
    const volume = (ctx: RequestContext) => ctx.params['volume'] ?? '';
    const list = async (ctx: RequestContext) => {
      const listed = await this.volumes.list({
        pool: pool(ctx),
        ...(ctx.allProjects ? {} : { project: ctx.project }),
        ...(ctx.params['type'] !== undefined ? { type: ctx.params['type'] } : {}),
      });
      return sync(ctx.recursion > 0 ? listed.map((v) => v.volume) : listed.map((v) => v.url));
    };
    const create = async (ctx: RequestContext) => {
      // A tarball (application/octet-stream) is `lxc storage volume import`; anything else is JSON.
      if (ctx.bodyStream) {
        if ((ctx.params['type'] ?? 'custom') !== 'custom') throw badRequest('Only custom volumes can be imported');
        return async(await this.backups.import(pool(ctx), ctx.project, ctx.bodyStream, ctx.headers, ctx.identity));
      }
      const body = ctx.body(VolumesPost);
      const type = ctx.params['type'] ?? body.type;
      const op = await this.custom.create(pool(ctx), ctx.project, { ...body, type }, ctx.identity);
      return op ? async(op) : emptySync();
    };
    return [
      { path: '/1.0/storage-pools/:name/volumes', get: { access: 'project', handler: list }, post: { access: 'project', streamBody: 'octet-stream', handler: create } },
      {
        path: '/1.0/storage-pools/:name/volumes/:type',
        get: { access: 'project', handler: list },
        post: { access: 'project', streamBody: 'octet-stream', handler: create },
      },
      {
        path: '/1.0/storage-pools/:name/volumes/:type/:volume',
        get: {
          access: 'project',
          handler: async (ctx) => {
            const v = await this.volumes.get({ pool: pool(ctx), project: ctx.project, type: ctx.params['type'] ?? '', name: volume(ctx) });
            return sync(v, { etag: writable(v) });
          },
        },
        put: { access: 'project', handler: (ctx) => this.update(ctx, 'replace') },
        patch: { access: 'project', handler: (ctx) => this.update(ctx, 'merge') },
        post: {
          access: 'project',
          handler: async (ctx) => {
            customOnly(ctx);
            const op = await this.custom.rename(pool(ctx), ctx.project, volume(ctx), ctx.body(VolumePost), ctx.identity);
            return op ? async(op) : emptySync();
          },
        },
        delete: {
          access: 'project',
          handler: async (ctx) => {
            customOnly(ctx);
            await this.custom.delete(pool(ctx), ctx.project, volume(ctx), ctx.identity);
            return emptySync();
          },
        },
      },
      {
        path: '/1.0/storage-pools/:name/volumes/:type/:volume/backups',
        get: {
          access: 'project',
          handler: async (ctx) => {
            customOnly(ctx);
            return sync(await this.backups.list(pool(ctx), ctx.project, volume(ctx), ctx.recursion));
          },
        },
        post: {
          access: 'project',
          handler: async (ctx) => {
            customOnly(ctx);
            return async(await this.backups.create(pool(ctx), ctx.project, volume(ctx), ctx.body(BackupsPost), ctx.identity));
          },
        },
      },
      {
        path: '/1.0/storage-pools/:name/volumes/:type/:volume/backups/:backup',
        get: {
          access: 'project',
          handler: async (ctx) => {
            customOnly(ctx);
            return sync(await this.backups.get(pool(ctx), ctx.project, volume(ctx), ctx.params['backup'] ?? ''));
          },
        },
        post: {
          access: 'project',
          handler: async (ctx) => {
            customOnly(ctx);
            const name = ctx.body(BackupPost).name;
            return async(await this.backups.rename(pool(ctx), ctx.project, volume(ctx), ctx.params['backup'] ?? '', name, ctx.identity));
          },
        },
        delete: {
          access: 'project',
          handler: async (ctx) => {
            customOnly(ctx);
            return async(await this.backups.delete(pool(ctx), ctx.project, volume(ctx), ctx.params['backup'] ?? '', ctx.identity));
          },
        },
      },
      {
        path: '/1.0/storage-pools/:name/volumes/:type/:volume/backups/:backup/export',
        get: {
          access: 'project',
          handler: async (ctx) => {
            customOnly(ctx);
            const file = await this.backups.open(pool(ctx), ctx.project, volume(ctx), ctx.params['backup'] ?? '');
            return { ...raw(200, 'application/octet-stream', file.body), headers: { 'Content-Length': String(file.size) } };
          },
        },
      },
      {
        path: '/1.0/storage-pools/:name/volumes/:type/:volume/state',
        get: {
          access: 'project',
          handler: async (ctx) => {
            customOnly(ctx);
            return sync(await this.custom.state(pool(ctx), ctx.project, volume(ctx)));
          },
        },
      },
      {
        path: '/1.0/storage-pools/:name/volumes/:type/:volume/snapshots',
        get: {
          access: 'project',
          handler: async (ctx) => {
            customOnly(ctx);
            const snaps = await this.custom.snapshots(pool(ctx), ctx.project, volume(ctx));
            return sync(ctx.recursion > 0 ? snaps : snaps.map((s) => this.custom.snapshotUrl(pool(ctx), ctx.project, volume(ctx), s.name)));
          },
        },
        post: {
          access: 'project',
          handler: async (ctx) => {
            customOnly(ctx);
            const body = ctx.body(SnapshotsPost);
            return async(await this.custom.createSnapshot(pool(ctx), ctx.project, volume(ctx), { name: body.name, expires_at: body.expires_at ?? null }, ctx.identity));
          },
        },
      },
      {
        path: '/1.0/storage-pools/:name/volumes/:type/:volume/snapshots/:snapshot',
        get: {
          access: 'project',
          handler: async (ctx) => {
            customOnly(ctx);
            const s = await this.custom.snapshot(pool(ctx), ctx.project, volume(ctx), ctx.params['snapshot'] ?? '');
            return sync(s, { etag: { description: s.description, expires_at: s.expires_at } });
          },
        },
        post: {
          access: 'project',
          handler: async (ctx) => {
            customOnly(ctx);
            const body = ctx.body(SnapshotPost);
            return async(await this.custom.renameSnapshot(pool(ctx), ctx.project, volume(ctx), ctx.params['snapshot'] ?? '', body.name, ctx.identity));
          },
        },
        delete: {
          access: 'project',
          handler: async (ctx) => {
            customOnly(ctx);
            return async(await this.custom.deleteSnapshot(pool(ctx), ctx.project, volume(ctx), ctx.params['snapshot'] ?? '', ctx.identity));
          },
        },
      },
    ];
  }

  private async update(ctx: RequestContext, mode: 'replace' | 'merge') {
    customOnly(ctx);
    const name = ctx.params['volume'] ?? '';
    const poolName = ctx.params['name'] ?? '';
    const body = ctx.body(VolumePut);
    const json = ctx.json();
    const hasDescription = typeof json === 'object' && json !== null && 'description' in json;
    if (!body.restore) checkEtag(ctx.ifMatch, writable(await this.volumes.get({ pool: poolName, project: ctx.project, type: 'custom', name })));
    await this.custom.update(poolName, ctx.project, name, body, mode, hasDescription, ctx.identity);
    return emptySync();
  }
}

/** Instance and image volumes change with their instance or image, never through the volumes API. */
function customOnly(ctx: RequestContext): void {
  const type = ctx.params['type'] ?? '';
  if (type !== 'custom') throw badRequest(`Storage volumes of type "${type}" cannot be changed through this endpoint`);
}
