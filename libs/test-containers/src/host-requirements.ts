// Whether this host can run real containers in a test.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/**
 * Why container tests must skip here, or false: they need root (unprivileged containers with an idmapped rootfs),
 * liblxc's lxc-start, a static busybox, and `tools` (each answering `--version`, e.g. lxc-console, script).
 */
export function containerTestSkipReason(tools: readonly string[] = []): string | false {
  if (process.getuid?.() !== 0) return 'needs root (liblxc containers with an idmapped rootfs)';
  for (const tool of ['lxc-start', ...tools]) if (spawnSync(tool, ['--version']).status !== 0) return `${tool} is not installed`;
  if (!existsSync('/bin/busybox')) return 'needs a static /bin/busybox (busybox-static)';
  return false;
}
