import { Injectable } from '@nestjs/common';
import { array, boolean, object, string } from '../http/body-schema.js';
import { checkEtag } from '../http/etag.js';
import { async, created, emptySync, sync } from '../http/response.js';
import type { RequestContext } from '../http/request-context.js';
import type { Route, RouteProvider } from '../http/route.js';
import { CertificatesService } from './certificates.service.js';

const CertificatePut = object({
  name: string,
  type: string,
  restricted: boolean,
  projects: array(string),
  certificate: string,
});
const CertificatesPost = object({
  name: string,
  type: string,
  restricted: boolean,
  projects: array(string),
  certificate: string,
  password: string,
  token: boolean,
});

@Injectable()
export class CertificatesRoutes implements RouteProvider {
  constructor(private readonly certificates: CertificatesService) {}

  routes(): Route[] {
    return [
      {
        path: '/1.0/certificates',
        get: {
          access: 'authenticated',
          handler: (ctx) => {
            const certs = this.certificates.list(ctx.identity);
            return sync(ctx.recursion > 0 ? certs : certs.map((c) => `/1.0/certificates/${c.fingerprint}`));
          },
        },
        // Untrusted clients may POST here to prove themselves with a token or the trust password.
        post: {
          access: 'untrusted',
          handler: async (ctx) => {
            const body = ctx.body(CertificatesPost);
            const result = await this.certificates.create(
              { ...body, type: body.type as '' | 'client' },
              ctx.identity,
            );
            return result.kind === 'token' ? async(result.operation) : created(`/1.0/certificates/${result.fingerprint}`);
          },
        },
      },
      {
        path: '/1.0/certificates/:fingerprint',
        get: {
          access: 'authenticated',
          handler: (ctx) => {
            const cert = this.certificates.get(ctx.params['fingerprint']!, ctx.identity);
            return sync(cert, { etag: this.certificates.etagOf(cert) });
          },
        },
        put: { access: 'authenticated', handler: (ctx) => this.update(ctx, 'replace') },
        patch: { access: 'authenticated', handler: (ctx) => this.update(ctx, 'merge') },
        delete: {
          access: 'authenticated',
          handler: async (ctx) => {
            await this.certificates.delete(ctx.params['fingerprint']!, ctx.identity);
            return emptySync();
          },
        },
      },
    ];
  }

  private async update(ctx: RequestContext, mode: 'replace' | 'merge') {
    const body = ctx.body(CertificatePut);
    const json = ctx.json();
    const present = new Set(json && typeof json === 'object' ? Object.keys(json) : []);
    const current = this.certificates.get(ctx.params['fingerprint']!, ctx.identity);
    checkEtag(ctx.ifMatch, this.certificates.etagOf(current));
    await this.certificates.update(current.fingerprint, { ...body, type: body.type as '' | 'client' }, mode, present, ctx.identity);
    return emptySync();
  }
}
