// When the agent can use lxdts-attach (apps/agent/native) instead of lxc-attach, and what it must tell it.
// lxdts-attach takes the container's restrictions from its init (namespaces, cgroups, capability bounding set,
// seccomp filters, NoNewPrivs, personality); the few things lxc-attach takes from the container's liblxc config
// instead come from the config file the agent wrote at start (`<lxcpath>/<name>/config`). A config with a key the
// helper does not reproduce falls back to lxc-attach.
import { accessSync, constants, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Where build.sh puts the binary (dist/exec/ → native/build/). */
export const DEFAULT_HELPER_PATH = fileURLToPath(new URL('../../native/build/lxdts-attach', import.meta.url));

/** What lxc-attach takes from the container's config, for lxdts-attach; `unsupported` names a key it can't. */
export interface AttachConfig {
  /** `lxc.environment` values, in order. */
  env: string[];
  /** `lxc.prlimit.<name>` values. */
  rlimits: Record<string, string>;
  unsupported: string | null;
}

/**
 * Keys whose effect on an attached process lxc-attach applies and lxdts-attach does not: /proc settings,
 * shared or kept namespaces, seccomp notification, LSM labels other than unconfined, core scheduling, includes.
 */
function unsupportedKey(key: string, value: string): boolean {
  if (key === 'lxc.apparmor.profile') return value !== 'unconfined';
  return (
    key === 'lxc.include' ||
    key === 'lxc.sched.core' ||
    key.startsWith('lxc.proc.') ||
    key.startsWith('lxc.namespace.') ||
    key.startsWith('lxc.seccomp.notify') ||
    key.startsWith('lxc.selinux.')
  );
}

/** Reads liblxc config text (`key = value` lines, `#` comments). Pure. */
export function parseAttachConfig(text: string): AttachConfig {
  const out: AttachConfig = { env: [], rlimits: {}, unsupported: null };
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq < 0) continue;
    const key = line.slice(0, eq).trim();
    const value = line.slice(eq + 1).trim();
    if (key === 'lxc.environment') out.env.push(value);
    else if (key.startsWith('lxc.prlimit.')) out.rlimits[key.slice('lxc.prlimit.'.length)] = value;
    else if (unsupportedKey(key, value)) out.unsupported ??= key;
  }
  return out;
}

export function readAttachConfig(file: string): AttachConfig | null {
  try {
    return parseAttachConfig(readFileSync(file, 'utf8'));
  } catch {
    return null;
  }
}

/**
 * Whether this agent can run the helper at `path`: it exists, the agent is root, and the agent is not itself
 * confined by seccomp (the helper copies init's filters with ptrace, which the kernel refuses to a confined caller).
 */
export function helperUsable(path: string, proc = '/proc'): boolean {
  try {
    accessSync(path, constants.X_OK);
    if (process.getuid?.() !== 0) return false;
    return /^Seccomp:\s*0$/m.test(readFileSync(`${proc}/self/status`, 'utf8'));
  } catch {
    return false;
  }
}
