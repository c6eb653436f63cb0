// Where things are: the repository root (from this compiled file's location), the lxdts CLI and the real `lxc`.
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** e2e/dist/harness/paths.js → repository root. */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** The `lxdts` CLI entry point (compiled). */
export const LXDTS_CLI = resolve(REPO_ROOT, 'apps', 'api', 'dist', 'cli', 'main.js');

/** The real LXD 5.0.2 client: $E2E_LXC, else /usr/bin/lxc, else `lxc` from PATH. */
export const LXC_BIN = process.env['E2E_LXC'] || (existsSync('/usr/bin/lxc') ? '/usr/bin/lxc' : 'lxc');

/** Environment for child processes: the caller's, minus variables that would redirect lxc or lxdts elsewhere. */
export function cleanEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of ['LXD_SOCKET', 'LXD_DIR', 'LXD_CONF', 'LXD_INSECURE_TLS', 'NODE_TEST_CONTEXT', 'NODE_OPTIONS']) delete env[k];
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}
