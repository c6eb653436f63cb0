// Known server configuration keys (LXD 5.0.2 server.md): scope and validation. Unknown keys are refused.
import { isIP } from 'node:net';

export type ConfigScope = 'local' | 'global';
export type KeyValidator = (value: string) => string | null;

export interface ServerConfigKey {
  scope: ConfigScope;
  validate: KeyValidator;
  /** Never echoed back in GET /1.0 (LXD shows `true` for a set password). */
  hidden?: boolean;
}

const anyString: KeyValidator = () => null;
const bool: KeyValidator = (v) => (['true', 'false', '1', '0', 'yes', 'no', 'on', 'off', ''].includes(v.toLowerCase()) ? null : 'Invalid value for a boolean');
const int =
  (min = Number.MIN_SAFE_INTEGER): KeyValidator =>
  (v) =>
    v === '' || (/^-?\d+$/.test(v) && Number(v) >= min) ? null : 'invalid integer';
const oneOf =
  (...values: string[]): KeyValidator =>
  (v) =>
    v === '' || values.includes(v) ? null : `Invalid value "${v}" (not one of ${values.join(', ')})`;

/** host:port, [v6]:port, :port or a bare host (port 8443 implied). */
export const listenAddress: KeyValidator = (v) => {
  if (v === '') return null;
  const m = /^(?:\[([^\]]+)\]|([^:\[\]]*))(?::(\d{1,5}))?$/.exec(v);
  if (!m) return `Invalid address "${v}"`;
  const host = m[1] ?? m[2] ?? '';
  if (m[3] !== undefined && (Number(m[3]) < 1 || Number(m[3]) > 65535)) return `Invalid port in "${v}"`;
  if (m[1] !== undefined && isIP(host) !== 6) return `Invalid IPv6 address "${host}"`;
  if (host !== '' && !isIP(host) && !/^[A-Za-z0-9.-]+$/.test(host)) return `Invalid host "${host}"`;
  return null;
};

const compression = oneOf('none', 'gzip', 'bzip2', 'lz4', 'lzma', 'xz', 'zstd', 'squashfs');

export const SERVER_CONFIG_KEYS: Readonly<Record<string, ServerConfigKey>> = {
  'core.bgp_address': { scope: 'local', validate: listenAddress },
  'core.bgp_asn': { scope: 'global', validate: int(0) },
  'core.bgp_routerid': { scope: 'local', validate: (v) => (v === '' || isIP(v) === 4 ? null : 'Invalid router ID') },
  'core.debug_address': { scope: 'local', validate: listenAddress },
  'core.dns_address': { scope: 'local', validate: listenAddress },
  'core.https_address': { scope: 'local', validate: listenAddress },
  'core.https_allowed_credentials': { scope: 'global', validate: bool },
  'core.https_allowed_headers': { scope: 'global', validate: anyString },
  'core.https_allowed_methods': { scope: 'global', validate: anyString },
  'core.https_allowed_origin': { scope: 'global', validate: anyString },
  'core.https_trusted_proxy': { scope: 'global', validate: anyString },
  'core.metrics_address': { scope: 'local', validate: listenAddress },
  'core.metrics_authentication': { scope: 'global', validate: bool },
  'core.proxy_http': { scope: 'global', validate: anyString },
  'core.proxy_https': { scope: 'global', validate: anyString },
  'core.proxy_ignore_hosts': { scope: 'global', validate: anyString },
  'core.shutdown_timeout': { scope: 'global', validate: int(0) },
  'core.trust_ca_certificates': { scope: 'global', validate: bool },
  'core.trust_password': { scope: 'global', validate: anyString, hidden: true },
  'candid.api.key': { scope: 'global', validate: anyString },
  'candid.api.url': { scope: 'global', validate: anyString },
  'candid.domains': { scope: 'global', validate: anyString },
  'candid.expiry': { scope: 'global', validate: int(0) },
  'rbac.agent.private_key': { scope: 'global', validate: anyString },
  'rbac.agent.public_key': { scope: 'global', validate: anyString },
  'rbac.agent.url': { scope: 'global', validate: anyString },
  'rbac.agent.username': { scope: 'global', validate: anyString },
  'rbac.api.expiry': { scope: 'global', validate: int(0) },
  'rbac.api.key': { scope: 'global', validate: anyString },
  'rbac.api.url': { scope: 'global', validate: anyString },
  'cluster.https_address': { scope: 'local', validate: listenAddress },
  'cluster.images_minimal_replica': { scope: 'global', validate: int(-1) },
  'cluster.join_token_expiry': { scope: 'global', validate: anyString },
  'cluster.max_standby': { scope: 'global', validate: int(0) },
  'cluster.max_voters': { scope: 'global', validate: (v) => (v === '' || (/^\d+$/.test(v) && Number(v) >= 3 && Number(v) % 2 === 1) ? null : 'Value must be an odd number equal to or higher than 3') },
  'cluster.offline_threshold': { scope: 'global', validate: (v) => (v === '' || (/^\d+$/.test(v) && Number(v) >= 10) ? null : 'Value must be greater than \'10\'') },
  'images.auto_update_cached': { scope: 'global', validate: bool },
  'images.auto_update_interval': { scope: 'global', validate: int(0) },
  'images.compression_algorithm': { scope: 'global', validate: compression },
  'images.default_architecture': { scope: 'global', validate: anyString },
  'images.remote_cache_expiry': { scope: 'global', validate: int(0) },
  'backups.compression_algorithm': { scope: 'global', validate: compression },
  'maas.api.key': { scope: 'global', validate: anyString },
  'maas.api.url': { scope: 'global', validate: anyString },
  'maas.machine': { scope: 'local', validate: anyString },
  'network.ovn.integration_bridge': { scope: 'global', validate: anyString },
  'network.ovn.northbound_connection': { scope: 'global', validate: anyString },
  'storage.backups_volume': { scope: 'local', validate: anyString },
  'storage.images_volume': { scope: 'local', validate: anyString },
};

/** The definition of a key: a known one, or a free-form `user.*` key (global). */
export function serverConfigKey(key: string): ServerConfigKey | undefined {
  if (SERVER_CONFIG_KEYS[key]) return SERVER_CONFIG_KEYS[key];
  if (key.startsWith('user.') && key.length > 5) return { scope: 'global', validate: anyString };
  return undefined;
}
