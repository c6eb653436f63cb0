// /1.0/certificates (rest-api.yaml definitions Certificate*, extensions certificate_update, certificate_project,
// certificate_token).

export type CertificateType = 'client' | 'metrics' | 'server';

export interface CertificatePut {
  name: string;
  type: CertificateType | '';
  restricted: boolean;
  projects: string[];
  /** PEM on output; PEM or base64 DER on input. */
  certificate: string;
}

export interface Certificate extends CertificatePut {
  fingerprint: string;
}

export interface CertificatesPost extends CertificatePut {
  /** Trust password, or (5.0.2 client) a trust token in this field. */
  password: string;
  /** true: ask for a trust token instead of adding a certificate. */
  token: boolean;
}

/** The base64-encoded JSON the client receives from `lxc config trust add`. */
export interface CertificateAddToken {
  client_name: string;
  fingerprint: string;
  addresses: string[];
  secret: string;
  expires_at: string;
}
