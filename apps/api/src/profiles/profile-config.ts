// Validation of a profile's `config` map as a whole: per-key checks plus the cross-key rules LXD applies.
import { isTrue } from '../projects/config-validators.js';
import { instanceConfigKeyProblem } from './instance-config-keys.js';

/** raw.lxc lines LXD refuses because LXD manages them itself. */
export function rawLxcProblem(rawLxc: string): string | null {
  for (const rawLine of rawLxc.split('\n')) {
    const line = rawLine.replace(/^[\t ]+/, '');
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq < 0) return `Invalid raw.lxc line: ${line}`;
    const key = line.slice(0, eq).trim().toLowerCase();
    if (key === 'lxc.logfile' || key === 'lxc.log.file') return 'Setting lxc.logfile is not allowed';
    if (key === 'lxc.syslog' || key === 'lxc.log.syslog') return 'Setting lxc.log.syslog is not allowed';
    if (key === 'lxc.ephemeral') return 'Setting lxc.ephemeral is not allowed';
    if (key.startsWith('lxc.prlimit.')) {
      return 'Process limits should be set via "limits.kernel.[limit name]" and not directly via "lxc.prlimit.[limit name]"';
    }
    if (key.startsWith('lxc.net.')) {
      const f = key.split('.');
      const ipKey = f.length === 5 && (f[3] === 'ipv4' || f[3] === 'ipv6') && (f[4] === 'address' || f[4] === 'gateway');
      if (!ipKey) return 'Only interface-specific ipv4/ipv6 lxc.net. keys are allowed';
    }
  }
  return null;
}

function exclusive(config: Record<string, string>, a: string, b: string): string | null {
  return config[a] && config[b] ? `Mutually exclusive keys ${a} and ${b} are set` : null;
}

/**
 * Returns LXD's message for the first problem in a profile config, or null. Keys are checked in sorted order so
 * the answer does not depend on the request's key order.
 */
export function profileConfigProblem(config: Record<string, string>): string | null {
  for (const key of Object.keys(config).sort()) {
    const value = config[key]!;
    // Volatile and image keys describe one instance's state; they would be wrong on every other instance.
    if (key.startsWith('volatile.')) return 'Volatile keys can only be set on instances';
    if (key.startsWith('image.')) return 'Image keys can only be set on instances';
    const problem = instanceConfigKeyProblem(key, value, 'any');
    if (problem) return problem;
    if (key === 'raw.lxc') {
      const rawProblem = rawLxcProblem(value);
      if (rawProblem) return rawProblem;
    }
  }
  const pairs: [string, string][] = [
    ['security.syscalls.allow', 'security.syscalls.whitelist'],
    ['security.syscalls.deny', 'security.syscalls.blacklist'],
    ['security.syscalls.deny_default', 'security.syscalls.blacklist_default'],
    ['security.syscalls.deny_compat', 'security.syscalls.blacklist_compat'],
  ];
  for (const [a, b] of pairs) {
    const problem = exclusive(config, a, b);
    if (problem) return problem;
  }
  const has = (k: string): boolean => config[k] !== undefined;
  const isAllow = has('security.syscalls.allow') || has('security.syscalls.whitelist');
  const isDeny = has('security.syscalls.deny') || has('security.syscalls.blacklist');
  const isDenyDefault = isTrue(config['security.syscalls.deny_default'] ?? config['security.syscalls.blacklist_default']);
  const isDenyCompat = isTrue(config['security.syscalls.deny_compat'] ?? config['security.syscalls.blacklist_compat']);
  if (has('raw.seccomp') && (isAllow || isDeny || isDenyDefault || isDenyCompat)) {
    return 'raw.seccomp is mutually exclusive with security.syscalls*';
  }
  if (isAllow && (isDeny || isDenyDefault || isDenyCompat)) {
    return 'security.syscalls.allow is mutually exclusive with security.syscalls.deny*';
  }
  if (isTrue(config['security.privileged']) && isTrue(config['nvidia.runtime'])) {
    return 'nvidia.runtime is incompatible with privileged containers';
  }
  return null;
}
