// The `restricted.*` policy of a project applied to the config and devices of its profiles and instances
// (projects.md "Project restrictions"). Only effective when the project sets `restricted=true`.
import { isFalseOrEmpty, isTrue } from './config-validators.js';

/** Defaults of the restrictions when `restricted=true` and the key is unset. */
const RESTRICTION_DEFAULTS: Readonly<Record<string, string>> = {
  'restricted.containers.interception': 'block',
  'restricted.containers.lowlevel': 'block',
  'restricted.containers.nesting': 'block',
  'restricted.containers.privilege': 'unprivileged',
  'restricted.devices.disk': 'managed',
  'restricted.devices.gpu': 'block',
  'restricted.devices.infiniband': 'block',
  'restricted.devices.nic': 'managed',
  'restricted.devices.pci': 'block',
  'restricted.devices.proxy': 'block',
  'restricted.devices.unix-block': 'block',
  'restricted.devices.unix-char': 'block',
  'restricted.devices.unix-hotplug': 'block',
  'restricted.devices.usb': 'block',
  'restricted.virtual-machines.lowlevel': 'block',
};

const ALLOWABLE_INTERCEPT = [
  'security.syscalls.intercept.bpf',
  'security.syscalls.intercept.bpf.devices',
  'security.syscalls.intercept.mknod',
  'security.syscalls.intercept.mount',
  'security.syscalls.intercept.mount.fuse',
  'security.syscalls.intercept.setxattr',
];

const CONTAINER_LOWLEVEL = [
  'boot.host_shutdown_timeout',
  'linux.kernel_modules',
  'raw.apparmor',
  'raw.idmap',
  'raw.lxc',
  'raw.seccomp',
  'security.devlxd.images',
  'security.idmap.base',
  'security.idmap.size',
];

const VM_LOWLEVEL = ['boot.host_shutdown_timeout', 'limits.memory.hugepages', 'raw.idmap', 'raw.qemu'];

const DEVICE_FORBIDDEN: Readonly<Record<string, string>> = {
  'unix-char': 'Unix character devices are forbidden',
  'unix-block': 'Unix block devices are forbidden',
  'unix-hotplug': 'Unix hotplug devices are forbidden',
  infiniband: 'Infiniband devices are forbidden',
  gpu: 'GPU devices are forbidden',
  usb: 'USB devices are forbidden',
  pci: 'PCI devices are forbidden',
  proxy: 'Proxy devices are forbidden',
};

export interface RestrictedEntity {
  /** 'profile', 'container' or 'virtual-machine' (as in LXD's messages). */
  kind: 'profile' | 'container' | 'virtual-machine';
  name: string;
  config: Record<string, string>;
  devices: Record<string, Record<string, string>>;
}

function setting(projectConfig: Record<string, string>, key: string): string {
  return projectConfig[key] ?? RESTRICTION_DEFAULTS[key] ?? '';
}

function configProblem(projectConfig: Record<string, string>, key: string, value: string): string | null {
  if (ALLOWABLE_INTERCEPT.includes(key)) {
    if (setting(projectConfig, 'restricted.containers.interception') !== 'allow' && !isFalseOrEmpty(value)) {
      return 'Container syscall interception is forbidden';
    }
  }
  if (key === 'security.nesting' && setting(projectConfig, 'restricted.containers.nesting') === 'block' && isTrue(value)) {
    return 'Container nesting is forbidden';
  }
  const privilege = setting(projectConfig, 'restricted.containers.privilege');
  if (key === 'security.privileged' && privilege !== 'allow' && isTrue(value)) return 'Privileged containers are forbidden';
  if (key === 'security.idmap.isolated' && privilege === 'isolated' && isFalseOrEmpty(value)) return 'Non-isolated containers are forbidden';
  return null;
}

function networkAllowed(projectConfig: Record<string, string>, name: string): boolean {
  const access = projectConfig['restricted.networks.access'];
  if (access === undefined || access === '') return true;
  return access.split(',').map((s) => s.trim()).includes(name);
}

function diskPathAllowed(projectConfig: Record<string, string>, source: string): boolean {
  const paths = projectConfig['restricted.devices.disk.paths'];
  if (!paths) return true;
  const clean = (p: string): string => `${p.replace(/\/+$/, '')}/`;
  return paths.split(',').some((parent) => clean(source).startsWith(clean(parent.trim())));
}

function deviceProblem(projectConfig: Record<string, string>, device: Record<string, string>): string | null {
  const type = device['type'] ?? '';
  const forbidden = DEVICE_FORBIDDEN[type];
  if (forbidden) return setting(projectConfig, `restricted.devices.${type}`) === 'allow' ? null : forbidden;
  if (type === 'nic') {
    const mode = setting(projectConfig, 'restricted.devices.nic');
    if (mode === 'block') return 'Network devices are forbidden';
    if (mode === 'managed' && !device['network']) return 'Only managed network devices are allowed';
    const link = device['network'] || device['parent'];
    if (link && !networkAllowed(projectConfig, link)) return 'Network not allowed in project';
  }
  if (type === 'disk') {
    if (device['path'] === '/' && device['pool']) return null;
    if (!device['path'] && device['source'] === 'cloud-init:config') return null;
    const mode = setting(projectConfig, 'restricted.devices.disk');
    if (mode === 'block') return 'Disk devices are forbidden';
    if (mode === 'managed' && !device['pool']) return 'Attaching disks not backed by a pool is forbidden';
    if (mode === 'allow' && !diskPathAllowed(projectConfig, device['source'] ?? '')) {
      return `Disk source path "${device['source'] ?? ''}" not allowed`;
    }
  }
  return null;
}

/**
 * Checks an entity against the project's restrictions; returns LXD's message or null. A profile may end up on
 * either instance type, so it needs both container and VM low-level options allowed to use them.
 */
export function restrictionProblem(projectName: string, projectConfig: Record<string, string>, entity: RestrictedEntity): string | null {
  if (!isTrue(projectConfig['restricted'])) return null;
  const ctLowLevel = setting(projectConfig, 'restricted.containers.lowlevel') === 'allow';
  const vmLowLevel = setting(projectConfig, 'restricted.virtual-machines.lowlevel') === 'allow';
  const isCt = entity.kind !== 'virtual-machine';
  const isVm = entity.kind !== 'container';
  const lowLevelAllowed = (entity.kind === 'profile' && ctLowLevel && vmLowLevel) || (entity.kind === 'container' && ctLowLevel) ||
    (entity.kind === 'virtual-machine' && vmLowLevel);
  for (const key of Object.keys(entity.config).sort()) {
    const value = entity.config[key]!;
    if (!lowLevelAllowed) {
      const ctForbidden = (key.startsWith('security.syscalls.intercept') && !ALLOWABLE_INTERCEPT.includes(key)) || CONTAINER_LOWLEVEL.includes(key);
      if ((isCt && ctForbidden) || (isVm && VM_LOWLEVEL.includes(key))) {
        return `Use of low-level config "${key}" on ${entity.kind} "${entity.name}" of project "${projectName}" is forbidden`;
      }
    }
    if (!isCt) continue;
    const problem = configProblem(projectConfig, key, value);
    if (problem) {
      return `Invalid value "${value}" for config "${key}" on ${entity.kind} "${entity.name}" of project "${projectName}": ${problem}`;
    }
  }
  for (const name of Object.keys(entity.devices).sort()) {
    const problem = deviceProblem(projectConfig, entity.devices[name]!);
    if (problem) return `Invalid device "${name}" on ${entity.kind} "${entity.name}" of project "${projectName}": ${problem}`;
  }
  return null;
}
