// The `cluster:` section of `lxdts init --preseed`, as `lxd init`: bootstrap a new cluster (`enabled: true` and no
// token), or join one with `cluster_token` (`lxc cluster add` printed it): find a member among the token's addresses
// whose certificate has the token's fingerprint, then ask the local daemon to join through it (PUT /1.0/cluster).
import { X509Certificate, createHash } from 'node:crypto';
import { connect } from 'node:tls';
import type { ClusterMemberConfigKey, ClusterMemberJoinToken, ClusterPut } from '@lxdts/api-types';
import { parseListenAddress } from '../daemon/listeners.js';
import type { LocalClient } from './local-client.js';

export interface ClusterPreseed {
  server_name?: string;
  enabled?: boolean;
  server_address?: string;
  cluster_address?: string;
  cluster_certificate?: string;
  cluster_token?: string;
  cluster_password?: string;
  member_config?: ClusterMemberConfigKey[];
}

/** `lxc cluster add` output: base64 of the token's JSON. */
export function decodeJoinToken(text: string): ClusterMemberJoinToken {
  let token: Partial<ClusterMemberJoinToken>;
  try {
    token = JSON.parse(Buffer.from(text.trim(), 'base64').toString('utf8')) as Partial<ClusterMemberJoinToken>;
  } catch {
    throw new Error('Invalid cluster join token');
  }
  if (!token.secret || !token.fingerprint || !Array.isArray(token.addresses) || token.addresses.length === 0) {
    throw new Error('Invalid cluster join token');
  }
  return token as ClusterMemberJoinToken;
}

/** The certificate a server presents (PEM), without trusting it. */
export function fetchCertificate(address: string, timeoutMs = 5_000): Promise<string> {
  const { host, port } = parseListenAddress(address);
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, rejectUnauthorized: false, timeout: timeoutMs });
    socket.once('secureConnect', () => {
      const raw = socket.getPeerCertificate().raw;
      socket.destroy();
      if (!raw) reject(new Error(`${address} presented no certificate`));
      else resolve(new X509Certificate(raw).toString());
    });
    socket.once('timeout', () => socket.destroy(new Error(`timed out connecting to ${address}`)));
    socket.once('error', reject);
  });
}

const fingerprintOf = (pem: string): string => createHash('sha256').update(new X509Certificate(pem).raw).digest('hex');

export async function applyClusterPreseed(client: LocalClient, c: ClusterPreseed): Promise<void> {
  if (!c.enabled) return;
  const put: ClusterPut = {
    server_name: c.server_name ?? '',
    enabled: true,
    member_config: c.member_config ?? [],
    cluster_address: c.cluster_address ?? '',
    cluster_certificate: c.cluster_certificate ?? '',
    server_address: c.server_address ?? '',
    cluster_password: c.cluster_password ?? '',
  };
  if (c.cluster_token) {
    const token = decodeJoinToken(c.cluster_token);
    if (!put.server_name) put.server_name = token.server_name;
    if (put.server_name !== token.server_name) throw new Error(`The join token is for "${token.server_name}", not "${put.server_name}"`);
    const problems: string[] = [];
    for (const address of token.addresses) {
      try {
        const pem = await fetchCertificate(address);
        if (fingerprintOf(pem) !== token.fingerprint) {
          problems.push(`${address}: certificate fingerprint mismatch between join token and cluster member`);
          continue;
        }
        put.cluster_address = address;
        put.cluster_certificate = pem;
        break;
      } catch (err) {
        problems.push(`${address}: ${(err as Error).message}`);
      }
    }
    if (!put.cluster_address) throw new Error(`Unable to connect to any of the cluster members specified in join token: ${problems.join('; ')}`);
    put.cluster_password = token.secret;
  }
  await client.sync('PUT', '/1.0/cluster', put);
}
