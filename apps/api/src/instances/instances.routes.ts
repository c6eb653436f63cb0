// /1.0/instances and its /1.0/containers alias (the legacy paths older clients such as pylxd use).
import { Injectable } from '@nestjs/common';
import type { InstanceStatePut } from '@lxdts/api-types';
import { array, boolean, integer, object, record, string, stringMap } from '../http/body-schema.js';
import { badRequest } from '../http/api-error.js';
import { async, sync } from '../http/response.js';
import type { RequestContext } from '../http/request-context.js';
import type { Route, RouteProvider } from '../http/route.js';
import { InstancePowerService } from './instance-power.service.js';
import { InstanceBackupsService } from './instance-backups.service.js';
import { InstanceSnapshotsService } from './instance-snapshots.service.js';
import { InstancesService, instanceEtag } from './instances.service.js';

const devices = record(stringMap);
const optionalProfiles = (v: unknown, p: string) => (v === null || v === undefined ? null : array(string)(v, p));
const InstancePut = object({
  architecture: string,
  config: stringMap,
  devices,
  ephemeral: boolean,
  profiles: optionalProfiles,
  restore: string,
  stateful: boolean,
  description: string,
});
const InstanceSource = object({
  type: string,
  alias: string,
  fingerprint: string,
  server: string,
  protocol: string,
  properties: stringMap,
  // Local copies (type "copy"): the source instance, its project, and the copy flags the client sends.
  source: string,
  project: string,
  'base-image': string,
  live: boolean,
  instance_only: boolean,
  container_only: boolean,
  refresh: boolean,
  allow_inconsistent: boolean,
});
const InstancesPost = object({
  name: string,
  architecture: string,
  config: stringMap,
  devices,
  ephemeral: boolean,
  profiles: optionalProfiles,
  stateful: boolean,
  description: string,
  source: InstanceSource,
  instance_type: string,
  type: string,
});
const InstancePost = object({ name: string, migration: boolean });
const StatePut = object({ action: string, timeout: integer, force: boolean, stateful: boolean });

@Injectable()
export class InstancesRoutes implements RouteProvider {
  constructor(
    private readonly instances: InstancesService,
    private readonly power: InstancePowerService,
    private readonly snapshots: InstanceSnapshotsService,
    private readonly backups: InstanceBackupsService,
  ) {}

  routes(): Route[] {
    return ['instances', 'containers'].flatMap((base) => this.table(`/1.0/${base}`));
  }

  private table(base: string): Route[] {
    return [
      {
        path: base,
        get: {
          access: 'project',
          handler: async (ctx) => sync(await this.instances.list(ctx.project, ctx.allProjects, ctx.recursion, ctx.query['filter'] ?? '')),
        },
        // A tarball (application/octet-stream) is `lxc import` of a backup; anything else is JSON.
        post: { access: 'project', streamBody: 'octet-stream', handler: (ctx) => this.create(ctx) },
      },
      {
        path: `${base}/:name`,
        get: {
          access: 'project',
          handler: async (ctx) => {
            const inst = await this.instances.get(ctx.project, ctx.params['name']!, ctx.recursion);
            return sync(inst, { etag: instanceEtag(inst) });
          },
        },
        put: { access: 'project', handler: (ctx) => this.update(ctx, false) },
        patch: { access: 'project', handler: (ctx) => this.update(ctx, true) },
        post: {
          access: 'project',
          handler: async (ctx) => {
            const body = ctx.body(InstancePost);
            if (body.migration) throw Object.assign(new Error('Migration is not supported yet'), { statusCode: 400 });
            return async(await this.instances.rename(ctx.project, ctx.params['name']!, body.name, ctx.identity));
          },
        },
        delete: {
          access: 'project',
          handler: async (ctx) => async(await this.instances.delete(ctx.project, ctx.params['name']!, ctx.identity)),
        },
      },
      {
        path: `${base}/:name/state`,
        get: { access: 'project', handler: async (ctx) => sync(await this.instances.state(ctx.project, ctx.params['name']!)) },
        put: {
          access: 'project',
          handler: async (ctx) => {
            const body = ctx.body(StatePut);
            const put: InstanceStatePut = { ...body, action: body.action as InstanceStatePut['action'] };
            return async(await this.power.change(ctx.project, ctx.params['name']!, put, ctx.identity));
          },
        },
      },
    ];
  }

  private async create(ctx: RequestContext) {
    if (ctx.bodyStream) return async(await this.backups.import(ctx.project, ctx.bodyStream, ctx.headers, ctx.identity));
    const body = ctx.body(InstancesPost);
    const op = await this.instances.create(
      ctx.project,
      {
        ...body,
        profiles: body.profiles as string[],
        restore: '',
        type: body.type === 'virtual-machine' ? 'virtual-machine' : body.type === 'container' ? 'container' : '',
        source: {
          ...body.source,
          certificate: '',
          secret: '',
          mode: '',
          operation: '',
          secrets: {},
        },
      },
      ctx.identity,
    );
    return async(op);
  }

  private async update(ctx: RequestContext, patch: boolean) {
    const body = ctx.body(InstancePut);
    // `lxc restore`: PUT with the snapshot's name (the rest of the body is ignored, as LXD does).
    // The client sends `<instance>/<snapshot>`; a bare snapshot name is that instance's too.
    if (body.restore !== '') {
      const name = ctx.params['name']!;
      const [owner, snapshot] = body.restore.includes('/') ? [body.restore.slice(0, body.restore.indexOf('/')), body.restore.slice(body.restore.indexOf('/') + 1)] : [name, body.restore];
      if (owner !== name) throw badRequest('Snapshot does not belong to this instance');
      return async(await this.snapshots.restore(ctx.project, name, snapshot, ctx.identity));
    }
    const json = ctx.json();
    const presence = patch ? new Set(json && typeof json === 'object' ? Object.keys(json) : []) : null;
    await this.instances.update(ctx.project, ctx.params['name']!, { ...body, profiles: body.profiles ?? [] }, presence, ctx.ifMatch, ctx.identity);
    // LXD answers instance updates with an operation.
    return async(await this.instances.noop(ctx.project, ctx.params['name']!, 'Updating instance'));
  }
}
