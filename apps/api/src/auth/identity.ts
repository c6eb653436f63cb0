// Who is calling. Unix-socket peers are trusted (access is the socket's mode); TLS peers by certificate fingerprint.

export type Transport = 'unix' | 'tls';

export interface Identity {
  transport: Transport;
  trusted: boolean;
  /** sha256 of the client certificate (DER), lowercase hex; '' on the unix socket or without a certificate. */
  fingerprint: string;
  /** Restricted certificates may only use `projects`. */
  restricted: boolean;
  projects: string[];
  /** For lifecycle event requestors: the certificate name or the unix user. */
  username: string;
  /** Remote address ("@" for unix). */
  address: string;
  /** The client certificate (DER) presented over TLS, trusted or not; needed to add it to the trust store. */
  certificate?: Buffer;
}

export const unixIdentity = (): Identity => ({
  transport: 'unix',
  trusted: true,
  fingerprint: '',
  restricted: false,
  projects: [],
  username: 'root',
  address: '@',
});

export function canAccessProject(identity: Identity, project: string): boolean {
  return identity.trusted && (!identity.restricted || identity.projects.includes(project));
}
