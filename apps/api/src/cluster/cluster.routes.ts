// /1.0/cluster, its members and the members' internal endpoints (join, raft, heartbeat, leave).
import { Inject, Injectable } from '@nestjs/common';
import { badRequest, forbidden, notFound } from '../http/api-error.js';
import { array, boolean, integer, object, string, stringMap } from '../http/body-schema.js';
import { async, created, emptySync, raw, sync } from '../http/response.js';
import { createReadStream } from 'node:fs';
import { ImagesService } from '../images/images.service.js';
import type { RequestContext } from '../http/request-context.js';
import type { Route, RouteProvider } from '../http/route.js';
import { AGENT_CLIENT, CLUSTER_RUNTIME } from '../daemon/tokens.js';
import type { AgentClient } from '../agent/agent.client.js';
import { INSTANCE_STATES_PATH } from './member-states.js';
import type { ClusterRuntime } from './cluster-runtime.js';
import { ClusterService } from './cluster.service.js';

const MemberConfigKey = object({ entity: string, name: string, key: string, value: string, description: string });
const ClusterPut = object({
  server_name: string,
  enabled: boolean,
  member_config: array(MemberConfigKey),
  cluster_address: string,
  cluster_certificate: string,
  server_address: string,
  cluster_password: string,
});
const MembersPost = object({ server_name: string });
const MemberPost = object({ server_name: string });
const MemberPut = object({ roles: array(string), failure_domain: string, description: string, config: stringMap, groups: array(string) });
const AcceptPost = object({ server_name: string, address: string, secret: string, architecture: string });
const RaftAddPost = object({ node_id: integer, address: string });
const RaftNode = object({ id: integer, address: string, role: integer, name: string });
const HeartbeatPost = object({ raft_nodes: array(RaftNode) });
const RaftRemovePost = object({ address: string });
const StatesPost = object({ lxcNames: array(string) });
const CertificatePut = object({ cluster_certificate: string, cluster_certificate_key: string });

@Injectable()
export class ClusterRoutes implements RouteProvider {
  constructor(
    private readonly cluster: ClusterService,
    @Inject(CLUSTER_RUNTIME) private readonly runtime: ClusterRuntime,
    @Inject(AGENT_CLIENT) private readonly agent: AgentClient,
    private readonly images: ImagesService,
  ) {}

  routes(): Route[] {
    const member = (ctx: RequestContext) => {
      if (!this.cluster.isMember(ctx.identity)) throw forbidden();
    };
    return [
      {
        path: '/1.0/cluster',
        get: { access: 'authenticated', handler: async () => sync(await this.cluster.info()) },
        put: { access: 'admin', handler: async (ctx) => async(await this.cluster.update(ctx.body(ClusterPut), ctx.identity)) },
      },
      {
        path: '/1.0/cluster/certificate',
        put: {
          access: 'admin',
          handler: async (ctx) => {
            const body = ctx.body(CertificatePut);
            await this.cluster.updateCertificate(body.cluster_certificate, body.cluster_certificate_key, ctx.identity);
            return emptySync();
          },
        },
      },
      {
        path: '/1.0/cluster/members',
        get: {
          access: 'authenticated',
          handler: async (ctx) => {
            const members = await this.cluster.members();
            return sync(ctx.recursion > 0 ? members : members.map((m) => `/1.0/cluster/members/${encodeURIComponent(m.server_name)}`));
          },
        },
        post: { access: 'admin', handler: async (ctx) => async(await this.cluster.createToken(ctx.body(MembersPost).server_name)) },
      },
      {
        path: '/1.0/cluster/members/:name',
        get: { access: 'authenticated', handler: async (ctx) => sync(await this.cluster.member(ctx.params['name']!)) },
        put: { access: 'admin', handler: (ctx) => this.update(ctx, false) },
        patch: { access: 'admin', handler: (ctx) => this.update(ctx, true) },
        post: {
          access: 'admin',
          handler: async (ctx) => {
            const name = ctx.body(MemberPost).server_name;
            await this.cluster.rename(ctx.params['name']!, name, ctx.identity);
            return created(`/1.0/cluster/members/${encodeURIComponent(name)}`);
          },
        },
        delete: {
          access: 'admin',
          handler: async (ctx) => {
            const force = ['1', 'true'].includes(ctx.query['force'] ?? '');
            await this.cluster.remove(ctx.params['name']!, force, ctx.identity);
            return emptySync();
          },
        },
      },
      {
        // A joining server, before it has the cluster certificate: authenticated by its token's secret.
        path: '/internal/cluster/accept',
        post: { access: 'untrusted', handler: async (ctx) => sync(await this.cluster.accept(ctx.body(AcceptPost))) },
      },
      {
        path: '/internal/cluster/raft-add',
        post: {
          access: 'untrusted',
          handler: async (ctx) => {
            member(ctx);
            await this.cluster.raftAdd(ctx.body(RaftAddPost));
            return emptySync();
          },
        },
      },
      {
        path: '/internal/cluster/heartbeat',
        post: {
          access: 'untrusted',
          handler: async (ctx) => {
            member(ctx);
            await this.runtime.rememberRaftNodes(ctx.body(HeartbeatPost).raft_nodes);
            return emptySync();
          },
        },
      },
      {
        // `lxdts cluster remove-raft-node ADDRESS` (unix socket only).
        path: '/internal/cluster/raft-remove',
        post: {
          access: 'admin',
          handler: async (ctx) => {
            if (ctx.identity.transport !== 'unix') throw forbidden();
            await this.cluster.removeRaftNode(ctx.body(RaftRemovePost).address);
            return emptySync();
          },
        },
      },
      {
        // Another member lists instances this member holds: their states from this member's agent.
        path: INSTANCE_STATES_PATH,
        post: {
          access: 'untrusted',
          handler: async (ctx) => {
            member(ctx);
            return sync({ states: await this.agent.states(ctx.body(StatesPost).lxcNames) });
          },
        },
      },
      {
        // Another member copies an image it lacks (ImagesService.ensureLocalFiles).
        path: '/internal/cluster/image-file',
        get: {
          access: 'untrusted',
          handler: async (ctx) => {
            member(ctx);
            const part = ctx.query['part'] === 'rootfs' ? 'rootfs' : 'metadata';
            const path = await this.images.localFile(ctx.query['fingerprint'] ?? '', part);
            if (!path || !/^[0-9a-f]{64}$/.test(ctx.query['fingerprint'] ?? '')) throw notFound('Image file not found');
            return raw(200, 'application/octet-stream', createReadStream(path));
          },
        },
      },
      {
        // update-certificate through another member: this member's share.
        path: '/internal/cluster/certificate',
        put: {
          access: 'untrusted',
          handler: (ctx) => {
            member(ctx);
            const body = ctx.body(CertificatePut);
            this.runtime.replaceCertificate(body.cluster_certificate, body.cluster_certificate_key);
            return emptySync();
          },
        },
      },
      {
        path: '/internal/cluster/leave',
        post: {
          access: 'untrusted',
          handler: async (ctx) => {
            member(ctx);
            setImmediate(() => void this.runtime.leave());
            return emptySync();
          },
        },
      },
    ];
  }

  private async update(ctx: RequestContext, patch: boolean) {
    const current = await this.cluster.member(ctx.params['name']!);
    const body = ctx.body(MemberPut);
    const raw = (ctx.json() ?? {}) as Record<string, unknown>;
    if (typeof raw !== 'object') throw badRequest('Invalid request body');
    const put = patch
      ? {
          roles: Array.isArray(raw['roles']) ? body.roles : current.roles,
          failure_domain: typeof raw['failure_domain'] === 'string' ? body.failure_domain : current.failure_domain,
          description: typeof raw['description'] === 'string' ? body.description : current.description,
          config: raw['config'] != null ? { ...current.config, ...body.config } : current.config,
          groups: Array.isArray(raw['groups']) ? body.groups : current.groups,
        }
      : body;
    await this.cluster.updateMember(ctx.params['name']!, put, ctx.identity);
    return emptySync();
  }
}
