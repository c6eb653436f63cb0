// The seccomp policy file of a container, as LXD writes it (lxd/seccomp/seccomp.go, liblxc format version 2).
// Pure: config in, policy text out (null = no policy, lxc.seccomp.profile is not set).
import { isTrue } from './limits.js';

const HEADER = '2\n';

/** LXD's default deny list; errno 38 = ENOSYS so callers fall back instead of failing hard. */
export const DEFAULT_SECCOMP_DENY = `reject_force_umount  # comment this to allow umount -f;  not recommended
[all]
kexec_load errno 38
open_by_handle_at errno 38
init_module errno 38
finit_module errno 38
delete_module errno 38
`;

/** `security.syscalls.deny_compat`: the x32/compat entry points LXD blocks on 64-bit hosts. */
const COMPAT_SYSCALLS = [
  'compat_sys_rt_sigaction', 'stub_x32_rt_sigreturn', 'compat_sys_ioctl', 'compat_sys_readv', 'compat_sys_writev',
  'compat_sys_recvfrom', 'compat_sys_sendmsg', 'compat_sys_recvmsg', 'stub_x32_execve', 'compat_sys_ptrace',
  'compat_sys_rt_sigpending', 'compat_sys_rt_sigtimedwait', 'compat_sys_rt_sigqueueinfo', 'compat_sys_sigaltstack',
  'compat_sys_timer_create', 'compat_sys_mq_notify', 'compat_sys_kexec_load', 'compat_sys_waitid',
  'compat_sys_set_robust_list', 'compat_sys_get_robust_list', 'compat_sys_vmsplice', 'compat_sys_move_pages',
  'compat_sys_preadv64', 'compat_sys_pwritev64', 'compat_sys_rt_tgsigqueueinfo', 'compat_sys_recvmmsg',
  'compat_sys_sendmmsg', 'compat_sys_process_vm_readv', 'compat_sys_process_vm_writev', 'compat_sys_setsockopt',
  'compat_sys_getsockopt', 'compat_sys_io_setup', 'compat_sys_io_submit', 'stub_x32_execveat',
];

/** 5.0 key, falling back to its pre-4.x alias (both are accepted by LXD 5.0.2). */
const key = (config: Record<string, string>, name: string, alias: string): string | undefined =>
  config[name] ?? config[alias];

export function seccompPolicy(config: Record<string, string>, architecture: string): string | null {
  const raw = config['raw.seccomp'];
  if (raw) return raw.endsWith('\n') ? raw : `${raw}\n`;

  const allow = key(config, 'security.syscalls.allow', 'security.syscalls.whitelist');
  const deny = key(config, 'security.syscalls.deny', 'security.syscalls.blacklist');
  const denyDefault = key(config, 'security.syscalls.deny_default', 'security.syscalls.blacklist_default');
  const denyCompat = key(config, 'security.syscalls.deny_compat', 'security.syscalls.blacklist_compat');
  const withDefault = denyDefault === undefined || isTrue(denyDefault);

  if (allow) return `${HEADER}allowlist\n[all]\n${withNewline(allow)}`;
  if (!withDefault && !deny && !isTrue(denyCompat)) return null;

  let policy = `${HEADER}denylist\n`;
  if (withDefault) policy += DEFAULT_SECCOMP_DENY;
  if (isTrue(denyCompat) && architecture === 'x86_64') {
    policy += `[${architecture}]\n${COMPAT_SYSCALLS.map((s) => `${s} errno 38\n`).join('')}`;
  }
  if (deny) policy += `[all]\n${withNewline(deny)}`;
  return policy;
}

const withNewline = (s: string) => (s.endsWith('\n') ? s : `${s}\n`);
