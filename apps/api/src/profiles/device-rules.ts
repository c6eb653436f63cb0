// Device validation for profiles (LXD 5.0.2 reference/devices_*.md). A profile can be applied to containers and
// VMs alike, so only checks that hold for both instance types are made here.
import {
  type Validator,
  isAny,
  isBool,
  isDeviceId,
  isInterfaceName,
  isNetworkMTU,
  isOneOf,
  isPciAddress,
  isSize,
  isUint32,
  optional,
  required,
} from '../projects/config-validators.js';
import { type DeviceConfig, type DeviceContext, type Rules, checkRules } from './device-options.js';
import { nicProblem } from './nic-rules.js';

const unixDeviceNum: Validator = optional((v) => (/^\d+$/.test(v) && Number(v) <= 0xffffffff ? null : 'Invalid value for a UNIX device number'));
const unixId: Validator = optional((v) => (/^\d+$/.test(v) && Number(v) <= 0xffffffff ? null : 'Invalid value for a UNIX ID'));
const octalMode: Validator = optional((v) => (/^[0-7]+$/.test(v) && parseInt(v, 8) <= 0xffffffff ? null : 'Invalid value for an octal file mode'));
const optBool = optional(isBool);

const DISK_RULES: Rules = {
  'boot.priority': optional(isUint32),
  'ceph.cluster_name': isAny,
  'ceph.user_name': isAny,
  'limits.max': isAny,
  'limits.read': isAny,
  'limits.write': isAny,
  optional: optBool,
  path: isAny,
  pool: isAny,
  propagation: optional(isOneOf('private', 'shared', 'slave', 'unbindable', 'rshared', 'rslave', 'runbindable', 'rprivate')),
  'raw.mount.options': isAny,
  readonly: optBool,
  recursive: optBool,
  required: optBool,
  shift: optBool,
  size: optional(isSize),
  'size.state': optional(isSize),
  source: isAny,
};

const UNIX_RULES: Rules = { source: isAny, path: isAny, major: unixDeviceNum, minor: unixDeviceNum, uid: unixId, gid: unixId, mode: octalMode, required: optBool };
const USB_RULES: Rules = { vendorid: optional(isDeviceId), productid: optional(isDeviceId), uid: unixId, gid: unixId, mode: octalMode, required: optBool };

const proxyAddress: Validator = (v) => {
  const colon = v.indexOf(':');
  const proto = colon < 0 ? v : v.slice(0, colon);
  if (!['tcp', 'udp', 'unix'].includes(proto)) return `Unknown protocol type "${proto}"`;
  if (colon < 0 || v.slice(colon + 1) === '') return 'Missing address';
  return null;
};

const PROXY_RULES: Rules = {
  listen: required(proxyAddress),
  connect: required(proxyAddress),
  bind: optional((v) => (['host', 'instance', 'guest', 'container'].includes(v) ? null : 'Invalid binding side given. Must be "host" or "instance"')),
  mode: octalMode,
  nat: optBool,
  gid: unixId,
  uid: unixId,
  'security.uid': unixId,
  'security.gid': unixId,
  proxy_protocol: optBool,
};

const GPU_RULES: Record<string, Rules> = {
  physical: { vendorid: optional(isDeviceId), productid: optional(isDeviceId), id: isAny, pci: optional(isPciAddress), uid: unixId, gid: unixId, mode: octalMode },
  mdev: { vendorid: optional(isDeviceId), productid: optional(isDeviceId), id: isAny, pci: optional(isPciAddress), mdev: required() },
  mig: {
    vendorid: optional(isDeviceId),
    productid: optional(isDeviceId),
    id: isAny,
    pci: optional(isPciAddress),
    'mig.ci': optional(isUint32),
    'mig.gi': optional(isUint32),
    'mig.uuid': isAny,
  },
  sriov: { vendorid: optional(isDeviceId), productid: optional(isDeviceId), id: isAny, pci: optional(isPciAddress) },
};

const INFINIBAND_RULES: Rules = {
  parent: required(),
  name: optional(isInterfaceName),
  mtu: optional(isNetworkMTU),
  hwaddr: optional((v) => (/^([0-9a-fA-F]{2}:){19}[0-9a-fA-F]{2}$/.test(v) || /^([0-9a-fA-F]{2}:){7}[0-9a-fA-F]{2}$/.test(v) ? null : 'Invalid value, must be either 8 or 20 bytes of lower case hex separated by colons')),
};

const DEVICE_NAME = /^[/.\-:_a-zA-Z0-9]+$/;

function deviceNameProblem(name: string): string | null {
  if (name.length < 1 || name.length > 63) return 'Name must be 1-63 characters long';
  if (name.startsWith('.')) return 'Name must not start with "." character';
  if (!DEVICE_NAME.test(name)) return 'Name can only contain alphanumeric, forward slash, hyphen, colon, underscore and full stop characters';
  return null;
}

function diskProblem(config: DeviceConfig, ctx: DeviceContext): string | null {
  const problem = checkRules(config, DISK_RULES, []);
  if (problem) return problem;
  const path = config['path'] ?? '';
  const source = config['source'] ?? '';
  const pool = config['pool'] ?? '';
  if (config['required'] && config['optional']) return 'Cannot use both "required" and deprecated "optional" properties at the same time';
  // A disk without a path is valid: VMs get such sources (block devices, custom block volumes) as drives.
  if (source === '' && path !== '/') return 'Disk entry is missing the required "source" or "path" property';
  if (path === '/' && source !== '') return 'Root disk entry may not have a "source" property set';
  if (path === '/' && pool === '') return 'Root disk entry must have a "pool" property set';
  if (config['size'] && path !== '/') return 'Only the root disk may have a size quota';
  if (config['size.state'] && path !== '/') return 'Only the root disk may have a migration size quota';
  if (config['recursive'] && path === '/') return 'The recursive option is only supported for additional bind-mounted paths';
  if (!/^cephfs?:/.test(source) && (config['ceph.cluster_name'] || config['ceph.user_name'])) {
    return `Invalid options ceph.cluster_name/ceph.user_name for source "${source}"`;
  }
  if (path !== '') {
    const samePath = Object.values(ctx.devices).filter((d) => d['type'] === 'disk' && d['path'] === path).length;
    if (samePath > 1) return `More than one disk device uses the same path "${path}"`;
  }
  if (pool !== '') {
    if (config['shift']) return 'The "shift" property cannot be used with custom storage volumes (set "security.shifted=true" on the volume instead)';
    if (source.startsWith('/')) return 'Storage volumes cannot be specified as absolute paths';
    if (!ctx.pools.has(pool)) return `Failed loading storage pool "${pool}": Storage pool not found`;
  } else if (source !== '' && !source.startsWith('/') && !/^(cephfs?|cloud-init):/.test(source)) {
    return 'Source path must be absolute for local sources';
  }
  return null;
}

function gpuProblem(config: DeviceConfig): string | null {
  const gpuType = config['gputype'] || 'physical';
  const rules = GPU_RULES[gpuType];
  if (!rules) return `Invalid value for device option "gputype": Invalid value "${gpuType}" (not one of [physical mdev mig sriov])`;
  const problem = checkRules(config, rules, ['gputype']);
  if (problem) return problem;
  for (const [set, others] of [['pci', ['id', 'productid', 'vendorid']], ['id', ['pci', 'productid', 'vendorid']]] as const) {
    if (!config[set]) continue;
    for (const field of others) if (config[field]) return `Cannot use "${field}" when when "${set}" is set`;
  }
  if (gpuType === 'mig' && !config['mig.uuid'] && !(config['mig.ci'] && config['mig.gi'])) {
    return 'Either "mig.uuid" or both "mig.ci" and "mig.gi" must be set';
  }
  return null;
}

/** Returns the problem with one device without LXD's "Device validation failed" prefix, or null. */
export function deviceProblem(name: string, config: DeviceConfig, ctx: DeviceContext): string | null {
  const nameProblem = deviceNameProblem(name);
  if (nameProblem) return nameProblem;
  const type = config['type'] ?? '';
  if (type === '') return `Failed loading device "${name}": Missing device type in config`;
  switch (type) {
    case 'none':
      return checkRules(config, {}, []);
    case 'nic':
      return nicProblem(name, config, ctx);
    case 'disk':
      return diskProblem(config, ctx);
    case 'unix-char':
    case 'unix-block': {
      const problem = checkRules(config, UNIX_RULES, []);
      if (problem) return problem;
      return config['source'] || config['path'] ? null : 'Unix device entry is missing the required "source" or "path" property';
    }
    case 'usb':
      return checkRules(config, USB_RULES, []);
    case 'unix-hotplug': {
      const problem = checkRules(config, USB_RULES, []);
      if (problem) return problem;
      return config['vendorid'] || config['productid'] ? null : 'Unix hotplug devices require a vendorid or a productid';
    }
    case 'gpu':
      return gpuProblem(config);
    case 'infiniband': {
      const nicType = config['nictype'] ?? '';
      if (nicType !== 'physical' && nicType !== 'sriov') return `Failed loading device "${name}": Unsupported device type`;
      return checkRules(config, INFINIBAND_RULES, ['nictype']);
    }
    case 'proxy':
      return checkRules(config, PROXY_RULES, []);
    case 'tpm': {
      const problem = checkRules(config, { path: isAny, pathrm: isAny }, []);
      return problem ? `Failed to validate config: ${problem}` : null;
    }
    case 'pci': {
      const problem = checkRules(config, { address: isPciAddress }, []);
      return problem ? `Failed to validate config: ${problem}` : null;
    }
    default:
      return `Failed loading device "${name}": Unsupported device type`;
  }
}

/** Validates every device of a profile; returns LXD's message for the first bad one (by name), or null. */
export function profileDevicesProblem(devices: Readonly<Record<string, DeviceConfig>>, ctx: Omit<DeviceContext, 'devices'>): string | null {
  const full: DeviceContext = { ...ctx, devices };
  for (const name of Object.keys(devices).sort()) {
    // A longer name would not fit the socket and file names LXD derives from it.
    if (name.length > 64) return 'The maximum device name length is 64 characters';
    const problem = deviceProblem(name, devices[name]!, full);
    if (problem) return `Device validation failed for "${name}": ${problem}`;
  }
  return null;
}
