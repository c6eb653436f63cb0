// The trust store: certificates that may use the API over TLS, trust tokens and the trust password.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type { Certificate, CertificateAddToken, CertificatePut, CertificatesPost, Operation } from '@lxdts/api-types';
import type { TrustStore, TrustedCertificate } from '../auth/authenticator.js';
import type { Identity } from '../auth/identity.js';
import { DAEMON_PATHS } from '../daemon/tokens.js';
import type { DaemonPaths } from '../daemon/paths.js';
import { EventsService } from '../events/events.service.js';
import { badRequest, conflict, forbidden, notFound } from '../http/api-error.js';
import { validateEntityName } from '../http/entity-name.js';
import { OperationsService } from '../operations/operations.service.js';
import { ServerConfigService } from '../server/server-config.service.js';
import { certificateFingerprint } from '../tls/server-certificate.js';
import { readFileSync } from 'node:fs';
import { type CertificateRecord, CertificatesRepository } from './certificates.repository.js';
import { derToPem, parseCertificate } from './certificate-pem.js';

export type CreateResult = { kind: 'created'; fingerprint: string } | { kind: 'token'; operation: Operation };

const TYPES = ['client', 'metrics'] as const;

@Injectable()
export class CertificatesService implements TrustStore {
  private trusted = new Map<string, CertificateRecord>();
  private readonly serverFingerprint: string;

  constructor(
    private readonly repo: CertificatesRepository,
    private readonly operations: OperationsService,
    private readonly config: ServerConfigService,
    private readonly events: EventsService,
    @Inject(DAEMON_PATHS) paths: DaemonPaths,
  ) {
    this.serverFingerprint = certificateFingerprint(readFileSync(paths.serverCert, 'utf8'));
  }

  /** (Re)loads the in-memory trust cache used on every TLS request. */
  async refresh(): Promise<void> {
    const rows = await this.repo.list();
    this.trusted = new Map(rows.map((r) => [r.fingerprint, r]));
  }

  lookup(fingerprint: string): TrustedCertificate | undefined {
    return this.trusted.get(fingerprint);
  }

  /** Restricted clients only see their own certificate. */
  list(identity: Identity): Certificate[] {
    return [...this.trusted.values()]
      .filter((c) => !identity.restricted || c.fingerprint === identity.fingerprint)
      .map(toApi);
  }

  /** Looks a certificate up by fingerprint or unambiguous prefix, as LXD. */
  get(prefix: string, identity: Identity): Certificate {
    const matches = [...this.trusted.values()].filter((c) => c.fingerprint.startsWith(prefix.toLowerCase()));
    if (matches.length > 1) throw badRequest(`More than one certificate matches "${prefix}"`);
    const cert = matches[0];
    if (!cert || prefix === '' || (identity.restricted && cert.fingerprint !== identity.fingerprint)) {
      throw notFound('Certificate not found');
    }
    return toApi(cert);
  }

  async create(req: CertificatesPost, identity: Identity): Promise<CreateResult> {
    if (req.type !== '' && !(TYPES as readonly string[]).includes(req.type)) throw badRequest(`Unknown certificate type "${req.type}"`);
    if (req.name !== '') validateEntityName('certificate', req.name, 255);
    await this.checkProjects(req.projects);
    if (identity.trusted && req.token) {
      if (identity.restricted) throw forbidden();
      return { kind: 'token', operation: this.createToken(req) };
    }
    let grant: Pick<CertificatesPost, 'name' | 'type' | 'restricted' | 'projects'> = req;
    if (!identity.trusted) grant = await this.redeem(req);
    else if (identity.restricted) throw forbidden();

    let material: string | undefined = req.certificate || undefined;
    if (!material) {
      if (!identity.certificate) throw badRequest("Can't use TLS data on non-TLS link");
      material = derToPem(identity.certificate);
    }
    const parsed = parseCertificate(material);
    if (this.trusted.has(parsed.fingerprint)) throw conflict('Certificate already in trust store');
    const record: CertificateRecord = {
      fingerprint: parsed.fingerprint,
      type: (grant.type || 'client') as CertificateRecord['type'],
      name: grant.name || parsed.commonName,
      certificate: parsed.pem,
      restricted: grant.restricted,
      projects: grant.restricted ? grant.projects : [],
    };
    await this.repo.insert(record);
    await this.refresh();
    this.events.lifecycle('certificate-created', `/1.0/certificates/${record.fingerprint}`, '', identity.trusted ? identity : undefined);
    return { kind: 'created', fingerprint: record.fingerprint };
  }

  async update(prefix: string, put: CertificatePut, mode: 'replace' | 'merge', present: Set<string>, identity: Identity): Promise<void> {
    const current = this.trusted.get(this.get(prefix, identity).fingerprint)!;
    const next: CertificateRecord = { ...current };
    const has = (k: string) => mode === 'replace' || present.has(k);
    if (has('name')) next.name = put.name;
    if (has('type')) next.type = (put.type || 'client') as CertificateRecord['type'];
    if (has('restricted')) next.restricted = put.restricted;
    if (has('projects')) next.projects = put.projects;
    if (has('certificate') && put.certificate !== '') {
      const parsed = parseCertificate(put.certificate);
      next.certificate = parsed.pem;
      next.fingerprint = parsed.fingerprint;
    }
    if (!(TYPES as readonly string[]).includes(next.type)) throw badRequest(`Unknown certificate type "${next.type}"`);
    if (next.name !== '') validateEntityName('certificate', next.name, 255);
    await this.checkProjects(next.projects);
    if (identity.restricted) {
      // A restricted client may only renew its own certificate (certificate_self_renewal-like); nothing else.
      const same = next.name === current.name && next.type === current.type && next.restricted === current.restricted &&
        next.projects.join() === current.projects.join();
      if (!same) throw forbidden();
    }
    if (next.fingerprint !== current.fingerprint && this.trusted.has(next.fingerprint)) {
      throw conflict('Certificate already in trust store');
    }
    if (!next.restricted) next.projects = [];
    await this.repo.update(current.fingerprint, next);
    await this.refresh();
    this.events.lifecycle('certificate-updated', `/1.0/certificates/${next.fingerprint}`, '', identity);
  }

  async delete(prefix: string, identity: Identity): Promise<void> {
    const cert = this.get(prefix, identity);
    await this.repo.delete(cert.fingerprint);
    await this.refresh();
    this.events.lifecycle('certificate-deleted', `/1.0/certificates/${cert.fingerprint}`, '', identity);
  }

  /** The current writable state, for ETags. */
  etagOf(cert: Certificate): CertificatePut {
    return { name: cert.name, type: cert.type, restricted: cert.restricted, projects: cert.projects, certificate: cert.certificate };
  }

  private createToken(req: CertificatesPost): Operation {
    if (req.name === '') throw badRequest('A name is required to create a trust token');
    const addresses = this.addresses();
    const request = { ...req, projects: req.projects ?? [] };
    return this.operations.start({
      class: 'token',
      description: 'Executing operation',
      project: 'default',
      metadata: {
        addresses,
        fingerprint: this.serverFingerprint,
        request,
        secret: randomBytes(32).toString('hex'),
      },
      cancel: () => undefined,
    });
  }

  private addressesCache: string[] = [];
  private addresses(): string[] {
    return this.addressesCache;
  }

  /** Keeps the advertised addresses of tokens in step with core.https_address. */
  setAddresses(addresses: string[]): void {
    this.addressesCache = addresses;
  }

  /** An untrusted client proves itself with a trust token (sent as `password` by the 5.0.2 client) or the password. */
  private async redeem(req: CertificatesPost): Promise<Pick<CertificatesPost, 'name' | 'type' | 'restricted' | 'projects'>> {
    if (req.password === '') throw forbidden();
    const secret = decodeTokenSecret(req.password) ?? req.password;
    for (const op of this.operations.running('token')) {
      const meta = op.metadata as { secret?: string; request?: CertificatesPost } | null;
      if (meta?.secret && sameSecret(meta.secret, secret)) {
        await this.operations.cancel(op.id);
        const r = meta.request!;
        return { name: req.name || r.name, type: r.type, restricted: r.restricted, projects: r.projects ?? [] };
      }
    }
    if (await this.config.checkTrustPassword(req.password)) return req;
    throw forbidden();
  }

  private async checkProjects(projects: string[]): Promise<void> {
    const known = await this.repo.existingProjects(projects);
    const missing = projects.filter((p) => !known.includes(p));
    if (missing.length) throw badRequest(`Project "${missing[0]}" not found`);
  }
}

function toApi(c: CertificateRecord): Certificate {
  return { name: c.name, type: c.type, restricted: c.restricted, projects: c.projects, certificate: c.certificate, fingerprint: c.fingerprint };
}

function decodeTokenSecret(value: string): string | undefined {
  try {
    const token = JSON.parse(Buffer.from(value, 'base64').toString('utf8')) as Partial<CertificateAddToken>;
    return typeof token.secret === 'string' ? token.secret : undefined;
  } catch {
    return undefined;
  }
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
