// The daemon's TLS identity: $LXD_DIR/server.crt|key, generated on first start (node-forge, RSA 2048).
import { createHash, X509Certificate } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import forge from 'node-forge';

export interface KeyPair {
  cert: string;
  key: string;
}

export function generateCertificate(commonName: string, altNames: string[] = []): KeyPair {
  const keys = forge.pki.rsa.generateKeyPair({ bits: 2048, e: 0x10001 });
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = '01' + forge.util.bytesToHex(forge.random.getBytesSync(15));
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + 10 * 365 * 24 * 3600 * 1000);
  const attrs = [
    { name: 'organizationName', value: 'linuxcontainers.org' },
    // '@' is not a PrintableString character; Go's x509 parser refuses the certificate unless CN is UTF8String.
    { name: 'commonName', value: commonName, valueTagClass: forge.asn1.Type.UTF8 as unknown as forge.asn1.Class },
  ];
  cert.setSubject(attrs);
  cert.setIssuer(attrs);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true, clientAuth: true },
    {
      name: 'subjectAltName',
      altNames: [
        { type: 2, value: hostname() },
        { type: 7, ip: '127.0.0.1' },
        { type: 7, ip: '::1' },
        ...altNames.map((n) => ({ type: 2, value: n })),
      ],
    },
  ]);
  cert.sign(keys.privateKey, forge.md.sha384.create());
  return { cert: forge.pki.certificateToPem(cert), key: forge.pki.privateKeyToPem(keys.privateKey) };
}

/** Loads the server key pair, creating it (mode 0600 key) on first start. */
export function loadOrCreateServerCertificate(certPath: string, keyPath: string): KeyPair {
  if (existsSync(certPath) && existsSync(keyPath)) {
    return { cert: readFileSync(certPath, 'utf8'), key: readFileSync(keyPath, 'utf8') };
  }
  const pair = generateCertificate(`root@${hostname()}`);
  writeFileSync(keyPath, pair.key, { mode: 0o600 });
  writeFileSync(certPath, pair.cert, { mode: 0o644 });
  return pair;
}

/** LXD's certificate fingerprint: sha256 of the DER, lowercase hex. */
export function certificateFingerprint(pem: string): string {
  return createHash('sha256').update(new X509Certificate(pem).raw).digest('hex');
}
