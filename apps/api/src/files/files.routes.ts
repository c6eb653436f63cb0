// GET/HEAD/POST/DELETE /1.0/instances/{name}/files?path= (rest-api.yaml instance_files_*; extensions
// file_delete, file_append, file_symlinks, directory_manipulation, instance_file_head), and the same under
// /1.0/containers/{name}/files, which pylxd 2.2.10 still uses (wire-transcripts/23-pylxd.txt).
import type { Readable } from 'node:stream';
import { Injectable } from '@nestjs/common';
import { badRequest } from '../http/api-error.js';
import { syncBody } from '../http/envelope.js';
import type { RequestContext } from '../http/request-context.js';
import { type HandlerResponse, type RawResponse, emptySync, raw } from '../http/response.js';
import type { Endpoint, Route, RouteProvider, Verb } from '../http/route.js';
import { contentDisposition, fileHeaders, parsePushHeaders } from './file-headers.js';
import { FilesService } from './files.service.js';

@Injectable()
export class FilesRoutes implements RouteProvider {
  constructor(private readonly files: FilesService) {}

  routes(): Route[] {
    const endpoints: Partial<Record<Verb, Endpoint>> = {
      // The router sends HEAD here too (ctx.method tells them apart).
      get: { access: 'project', handler: (ctx) => this.get(ctx) },
      post: { access: 'project', streamBody: true, handler: (ctx) => this.post(ctx) },
      delete: {
        access: 'project',
        handler: async (ctx) => {
          await this.files.remove(ctx.project, name(ctx), ctx.query['path'], ctx.identity);
          return emptySync();
        },
      },
    };
    return [
      { path: '/1.0/instances/:name/files', ...endpoints },
      { path: '/1.0/containers/:name/files', ...endpoints },
    ];
  }

  private async get(ctx: RequestContext): Promise<HandlerResponse> {
    if (ctx.method === 'HEAD') {
      const info = await this.files.stat(ctx.project, name(ctx), ctx.query['path']);
      return withHeaders(raw(200, info.type === 'directory' ? 'application/json' : 'application/octet-stream', ''), fileHeaders(info));
    }
    const path = ctx.query['path'] ?? '';
    const r = await this.files.read(ctx.project, name(ctx), path, ctx.identity);
    const headers = fileHeaders(r.info);
    // A directory is a sync response carrying the X-LXD headers (LXD's SyncResponseHeaders).
    if (r.kind === 'directory') return withHeaders(raw(200, 'application/json', syncBody(r.entries)), headers);
    // Files and symlinks are downloads (LXD's FileResponse): the content, or the link's target path.
    const lxdPath = path.startsWith('/') ? path : `/${path}`;
    const download = {
      ...headers,
      'Content-Disposition': contentDisposition(lxdPath),
      'Last-Modified': new Date((r.kind === 'file' ? r.info.mtime : Math.floor(Date.now() / 1000)) * 1000).toUTCString(),
    };
    if (r.kind === 'symlink') {
      const body = Buffer.from(r.target);
      return withHeaders(raw(200, 'application/octet-stream', body), { ...download, 'Content-Length': String(body.length) });
    }
    return withHeaders(streamed(200, 'application/octet-stream', r.body), { ...download, 'Content-Length': String(r.info.size) });
  }

  private async post(ctx: RequestContext): Promise<HandlerResponse> {
    const headers = parsePushHeaders(ctx.headers);
    if (headers instanceof Error) {
      ctx.bodyStream?.resume();
      throw badRequest(headers.message);
    }
    await this.files.push(ctx.project, name(ctx), ctx.query['path'], headers, ctx.bodyStream, ctx.identity);
    return emptySync();
  }
}

const name = (ctx: RequestContext): string => ctx.params['name'] ?? '';

const withHeaders = (res: RawResponse, headers: Record<string, string>): RawResponse => ({ ...res, headers: { ...res.headers, ...headers } });

/**
 * A raw response whose body is a stream (fastify's reply.send pipes a Readable and destroys it if the client goes
 * away). RawResponse.body is typed `string | Buffer` until http/response.ts admits a Readable.
 */
function streamed(status: number, contentType: string, body: Readable): RawResponse {
  return { kind: 'raw', status, contentType, body };
}
