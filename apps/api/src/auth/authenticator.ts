// Turns a raw request into an Identity: unix peers are trusted; TLS peers by their certificate's fingerprint.
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { createHash } from 'node:crypto';
import { type Identity, unixIdentity } from './identity.js';

/** Set by the server factory on every request: which listener accepted it. */
export const TRANSPORT = Symbol('lxdts.transport');
export type TaggedRequest = IncomingMessage & { [TRANSPORT]?: 'unix' | 'tls' };

export interface TrustedCertificate {
  fingerprint: string;
  name: string;
  restricted: boolean;
  projects: string[];
}

/** Answers "is this fingerprint trusted?"; implemented by the certificates service from its cache. */
export interface TrustStore {
  lookup(fingerprint: string): TrustedCertificate | undefined;
}

/** The DER client certificate of a TLS request, if one was presented. */
export function peerCertificate(req: IncomingMessage): Buffer | undefined {
  const socket = req.socket as TLSSocket;
  if (typeof socket.getPeerCertificate !== 'function') return undefined;
  const cert = socket.getPeerCertificate();
  return cert && cert.raw ? cert.raw : undefined;
}

export function authenticate(req: TaggedRequest, trust: TrustStore): Identity {
  const transport = req[TRANSPORT];
  if (transport === 'unix') return unixIdentity();
  const address = `${req.socket.remoteAddress ?? ''}:${req.socket.remotePort ?? ''}`;
  if (transport !== 'tls') {
    // Untagged requests (in-process inject) are untrusted: nothing vouches for them.
    return { transport: 'tls', trusted: false, fingerprint: '', restricted: false, projects: [], username: '', address };
  }
  const der = peerCertificate(req);
  const fingerprint = der ? createHash('sha256').update(der).digest('hex') : '';
  const cert = fingerprint ? trust.lookup(fingerprint) : undefined;
  if (!cert) {
    return { transport: 'tls', trusted: false, fingerprint, restricted: false, projects: [], username: '', address, certificate: der };
  }
  return {
    transport: 'tls',
    trusted: true,
    fingerprint,
    restricted: cert.restricted,
    projects: cert.projects,
    username: cert.name,
    address,
    certificate: der,
  };
}
