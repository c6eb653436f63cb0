// Known project configuration keys (LXD 5.0.2 projects.md) and their validation. Unknown keys are refused.
import {
  type Validator,
  isAbsFilePath,
  isAny,
  isArchitecture,
  isBool,
  isCompressionAlgorithm,
  isFalse,
  isInt64,
  isListOf,
  isOneOf,
  isSize,
  isTrue,
  isUint32,
  isUint32Range,
  optional,
  parseCidr,
} from './config-validators.js';

/** The `features.*` keys: which resources a project holds itself rather than borrowing from `default`. */
export const PROJECT_FEATURES = ['features.images', 'features.profiles', 'features.storage.volumes', 'features.networks'] as const;
export type ProjectFeature = (typeof PROJECT_FEATURES)[number];

/** Features switched on for new projects unless the request sets them (features.networks stays off). */
export const DEFAULT_ENABLED_FEATURES: readonly ProjectFeature[] = ['features.images', 'features.profiles', 'features.storage.volumes'];

export const isProjectFeature = (key: string): key is ProjectFeature => (PROJECT_FEATURES as readonly string[]).includes(key);

const allowOrBlock = optional(isOneOf('block', 'allow'));
const allowOrBlockOrManaged = optional(isOneOf('block', 'allow', 'managed'));

const subnetList: Validator = (value) => {
  for (const raw of value.split(',')) {
    const item = raw.trim();
    const colon = item.indexOf(':');
    if (colon < 0) return `Subnet "${item}" invalid, must be in the format of "<uplink network>:<subnet>"`;
    const subnet = item.slice(colon + 1);
    if (!parseCidr(subnet)) return `invalid CIDR address: ${subnet}`;
  }
  return null;
};

export const PROJECT_CONFIG_KEYS: Readonly<Record<string, Validator>> = {
  'backups.compression_algorithm': optional(isCompressionAlgorithm),
  'features.images': optional(isBool),
  'features.networks': optional(isBool),
  'features.profiles': optional(isBool),
  'features.storage.volumes': optional(isBool),
  'images.auto_update_cached': optional(isBool),
  'images.auto_update_interval': optional(isInt64),
  'images.compression_algorithm': optional(isCompressionAlgorithm),
  'images.default_architecture': optional(isArchitecture),
  'images.remote_cache_expiry': optional(isInt64),
  'limits.containers': optional(isUint32),
  'limits.cpu': optional(isUint32),
  'limits.disk': optional(isSize),
  'limits.instances': optional(isUint32),
  'limits.memory': optional(isSize),
  'limits.networks': optional(isUint32),
  'limits.processes': optional(isUint32),
  'limits.virtual-machines': optional(isUint32),
  restricted: optional(isBool),
  'restricted.backups': allowOrBlock,
  'restricted.cluster.groups': optional(isListOf(isAny)),
  'restricted.cluster.target': allowOrBlock,
  'restricted.containers.interception': optional(isOneOf('allow', 'block', 'full')),
  'restricted.containers.lowlevel': allowOrBlock,
  'restricted.containers.nesting': allowOrBlock,
  'restricted.containers.privilege': optional(isOneOf('allow', 'unprivileged', 'isolated')),
  'restricted.devices.disk': allowOrBlockOrManaged,
  'restricted.devices.disk.paths': optional(isListOf(isAbsFilePath)),
  'restricted.devices.gpu': allowOrBlock,
  'restricted.devices.infiniband': allowOrBlock,
  'restricted.devices.nic': allowOrBlockOrManaged,
  'restricted.devices.pci': allowOrBlock,
  'restricted.devices.proxy': allowOrBlock,
  'restricted.devices.unix-block': allowOrBlock,
  'restricted.devices.unix-char': allowOrBlock,
  'restricted.devices.unix-hotplug': allowOrBlock,
  'restricted.devices.usb': allowOrBlock,
  'restricted.idmap.gid': optional(isListOf(isUint32Range)),
  'restricted.idmap.uid': optional(isListOf(isUint32Range)),
  'restricted.networks.access': optional(isListOf(isAny)),
  'restricted.networks.subnets': optional(subnetList),
  'restricted.networks.uplinks': optional(isListOf(isAny)),
  'restricted.networks.zones': optional(isListOf(isAny)),
  'restricted.snapshots': allowOrBlock,
  'restricted.virtual-machines.lowlevel': allowOrBlock,
};

/** Returns LXD's message for the first invalid key (in key order), or null. */
export function projectConfigProblem(config: Record<string, string>): string | null {
  for (const key of Object.keys(config).sort()) {
    if (key.startsWith('user.')) continue;
    const validate = PROJECT_CONFIG_KEYS[key];
    if (!validate) return `Invalid project configuration key "${key}"`;
    const problem = validate(config[key]!);
    if (problem) return `Invalid project configuration key "${key}" value: ${problem}`;
  }
  // A restricted project must own its profiles, or the default project's profiles would bypass its restrictions.
  if (isTrue(config['restricted']) && isFalse(config['features.profiles'])) {
    return 'Projects without their own profiles cannot be restricted';
  }
  return null;
}
