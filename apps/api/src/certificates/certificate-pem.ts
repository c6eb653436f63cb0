import { X509Certificate, createHash } from 'node:crypto';
import { badRequest } from '../http/api-error.js';

export function derToPem(der: Buffer): string {
  const b64 = der.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
  return `-----BEGIN CERTIFICATE-----\n${b64}\n-----END CERTIFICATE-----\n`;
}

/** Accepts PEM or bare base64 DER (what `lxc config trust add <file>` sends); returns normalised PEM + facts. */
export function parseCertificate(input: string): { pem: string; fingerprint: string; commonName: string } {
  const text = input.trim();
  let der: Buffer;
  if (text.includes('-----BEGIN CERTIFICATE-----')) {
    const body = /-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/.exec(text)?.[1] ?? '';
    der = Buffer.from(body.replace(/\s+/g, ''), 'base64');
  } else {
    if (!/^[A-Za-z0-9+/=\s]+$/.test(text)) throw badRequest('Invalid certificate material');
    der = Buffer.from(text.replace(/\s+/g, ''), 'base64');
  }
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(der);
  } catch {
    throw badRequest('Invalid certificate material');
  }
  const cn = /(?:^|\n)CN=([^\n]*)/.exec(x509.subject)?.[1] ?? '';
  return { pem: derToPem(x509.raw), fingerprint: createHash('sha256').update(x509.raw).digest('hex'), commonName: cn };
}
