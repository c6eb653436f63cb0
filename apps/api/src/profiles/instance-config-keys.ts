// Instance configuration keys (LXD 5.0.2 instance_options.md) with their value checks. Profiles hold the same keys
// as instances, for either instance type, so a profile accepts the union of container and VM keys.
import {
  type Validator,
  isAny,
  isBool,
  isCloudInitUserData,
  isCpuAllowance,
  isCpuSet,
  isCron,
  isExpiry,
  isInt64,
  isMemoryLimit,
  isOneOf,
  isPriority,
  isSize,
  isUint32,
  isYaml,
  optional,
} from '../projects/config-validators.js';

export type InstanceKind = 'container' | 'virtual-machine';

interface KeyDef {
  validate: Validator;
  /** Instance types the key applies to; absent = both. */
  only?: InstanceKind;
}

const both = (validate: Validator): KeyDef => ({ validate });
const ct = (validate: Validator): KeyDef => ({ validate, only: 'container' });
const vm = (validate: Validator): KeyDef => ({ validate, only: 'virtual-machine' });

const SNAPSHOT_ALIASES = ['@hourly', '@daily', '@midnight', '@weekly', '@monthly', '@annually', '@yearly', '@startup', '@never'];

export const INSTANCE_CONFIG_KEYS: Readonly<Record<string, KeyDef>> = {
  'agent.nic_config': vm(optional(isBool)),
  'boot.autostart': both(optional(isBool)),
  'boot.autostart.delay': both(optional(isInt64)),
  'boot.autostart.priority': both(optional(isInt64)),
  'boot.host_shutdown_timeout': both(optional(isInt64)),
  'boot.stop.priority': both(optional(isInt64)),
  'cloud-init.network-config': both(optional(isYaml)),
  'cloud-init.user-data': both(optional(isCloudInitUserData)),
  'cloud-init.vendor-data': both(optional(isCloudInitUserData)),
  'cluster.evacuate': both(optional(isOneOf('auto', 'migrate', 'live-migrate', 'stop'))),
  'limits.cpu': both(optional(isCpuSet)),
  'limits.cpu.allowance': ct(optional(isCpuAllowance)),
  'limits.cpu.priority': ct(optional(isPriority)),
  'limits.disk.priority': both(optional(isPriority)),
  'limits.hugepages.1GB': ct(optional(isSize)),
  'limits.hugepages.1MB': ct(optional(isSize)),
  'limits.hugepages.2MB': ct(optional(isSize)),
  'limits.hugepages.64KB': ct(optional(isSize)),
  'limits.memory': both(optional(isMemoryLimit)),
  'limits.memory.enforce': ct(optional(isOneOf('soft', 'hard'))),
  'limits.memory.hugepages': vm(optional(isBool)),
  'limits.memory.swap': ct(optional(isBool)),
  'limits.memory.swap.priority': ct(optional(isPriority)),
  'limits.network.priority': both(optional(isPriority)),
  'limits.processes': ct(optional(isInt64)),
  'linux.kernel_modules': ct(isAny),
  'migration.incremental.memory': ct(optional(isBool)),
  'migration.incremental.memory.goal': ct(optional(isUint32)),
  'migration.incremental.memory.iterations': ct(optional(isUint32)),
  'migration.stateful': vm(optional(isBool)),
  'nvidia.driver.capabilities': ct(isAny),
  'nvidia.require.cuda': ct(isAny),
  'nvidia.require.driver': ct(isAny),
  'nvidia.runtime': ct(optional(isBool)),
  'raw.apparmor': both(isAny),
  'raw.idmap': both(isAny),
  'raw.lxc': ct(isAny),
  'raw.qemu': vm(isAny),
  'raw.qemu.conf': vm(isAny),
  'raw.seccomp': ct(isAny),
  'security.agent.metrics': vm(optional(isBool)),
  'security.devlxd': both(optional(isBool)),
  'security.devlxd.images': ct(optional(isBool)),
  'security.idmap.base': ct(optional(isUint32)),
  'security.idmap.isolated': ct(optional(isBool)),
  'security.idmap.size': ct(optional(isUint32)),
  'security.nesting': ct(optional(isBool)),
  'security.privileged': ct(optional(isBool)),
  'security.protection.delete': both(optional(isBool)),
  'security.protection.shift': ct(optional(isBool)),
  'security.secureboot': vm(optional(isBool)),
  'security.syscalls.allow': ct(isAny),
  'security.syscalls.blacklist': ct(isAny),
  'security.syscalls.blacklist_compat': ct(optional(isBool)),
  'security.syscalls.blacklist_default': ct(optional(isBool)),
  'security.syscalls.deny': ct(isAny),
  'security.syscalls.deny_compat': ct(optional(isBool)),
  'security.syscalls.deny_default': ct(optional(isBool)),
  'security.syscalls.intercept.bpf': ct(optional(isBool)),
  'security.syscalls.intercept.bpf.devices': ct(optional(isBool)),
  'security.syscalls.intercept.mknod': ct(optional(isBool)),
  'security.syscalls.intercept.mount': ct(optional(isBool)),
  'security.syscalls.intercept.mount.allowed': ct(isAny),
  'security.syscalls.intercept.mount.fuse': ct(isAny),
  'security.syscalls.intercept.mount.shift': ct(optional(isBool)),
  'security.syscalls.intercept.sched_setscheduler': ct(optional(isBool)),
  'security.syscalls.intercept.setxattr': ct(optional(isBool)),
  'security.syscalls.whitelist': ct(isAny),
  'snapshots.expiry': both(isExpiry),
  'snapshots.pattern': both(isAny),
  'snapshots.schedule': both(optional(isCron(SNAPSHOT_ALIASES))),
  'snapshots.schedule.stopped': both(optional(isBool)),
};

/** Free-form namespaces: any key under them is accepted with any value. */
const FREE_PREFIXES: readonly { prefix: string; only?: InstanceKind }[] = [
  { prefix: 'environment.' },
  { prefix: 'user.' },
  { prefix: 'image.' },
  { prefix: 'limits.kernel.' },
  { prefix: 'linux.sysctl.', only: 'container' },
];

/** `volatile.<device>.<suffix>` keys LXD maintains per device. */
const VOLATILE_DEVICE_SUFFIXES = [
  '.hwaddr',
  '.name',
  '.host_name',
  '.mtu',
  '.created',
  '.id',
  '.vlan',
  '.spoofcheck',
  '.last_state.vf.parent',
  '.apply_quota',
  '.ceph_rbd',
  '.driver',
  '.uuid',
];

const VOLATILE_KEYS = new Set([
  'volatile.apply_template',
  'volatile.base_image',
  'volatile.cloud-init.instance-id',
  'volatile.evacuate.origin',
  'volatile.last_state.idmap',
  'volatile.last_state.power',
  'volatile.idmap.base',
  'volatile.idmap.current',
  'volatile.idmap.next',
  'volatile.apply_quota',
  'volatile.uuid',
  'volatile.vsock_id',
  'volatile.apply_nvram',
]);

const applies = (only: InstanceKind | undefined, kind: InstanceKind | 'any'): boolean =>
  only === undefined || kind === 'any' || only === kind;

/**
 * Checks one key and value for an instance of `kind` ('any' for profiles). Returns LXD's message or null:
 * "Unknown configuration key: foo" for keys nobody knows, the validator's message for a bad value.
 */
export function instanceConfigKeyProblem(key: string, value: string, kind: InstanceKind | 'any'): string | null {
  const def = INSTANCE_CONFIG_KEYS[key];
  if (def && applies(def.only, kind)) return def.validate(value);
  if (key.startsWith('volatile.')) {
    if (VOLATILE_KEYS.has(key) || VOLATILE_DEVICE_SUFFIXES.some((s) => key.endsWith(s))) return null;
  }
  for (const free of FREE_PREFIXES) {
    if (key.startsWith(free.prefix) && applies(free.only, kind)) {
      return free.prefix === 'limits.kernel.' && key.length === free.prefix.length ? `Unknown configuration key: ${key}` : null;
    }
  }
  return `Unknown configuration key: ${key}`;
}
