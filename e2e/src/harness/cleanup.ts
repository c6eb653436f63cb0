// Last-resort cleanup: whatever a test file leaves registered here (temp dirs, child processes) is removed or
// killed when the process exits, even on a signal or an uncaught error. Normal cleanup happens in after() hooks.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const dirs = new Set<string>();
const pids = new Set<number>();
let installed = false;

function sweep(): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  pids.clear();
  for (const d of dirs) {
    removeNetworksOf(join(d, 'lxd'));
    unmountUnder(d);
    rmSync(d, { recursive: true, force: true });
  }
  dirs.clear();
}

function install(): void {
  if (installed) return;
  installed = true;
  process.on('exit', sweep);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      sweep();
      process.exit(128 + (sig === 'SIGINT' ? 2 : sig === 'SIGTERM' ? 15 : 1));
    });
  }
}

/** A new empty directory under $TMPDIR, removed at exit unless removed earlier with removeTempDir(). */
export function makeTempDir(prefix: string): string {
  install();
  const d = mkdtempSync(join(tmpdir(), `lxdts-e2e-${prefix}-`));
  dirs.add(d);
  return d;
}

/**
 * Unmounts what a daemon left mounted under `dir` (a btrfs pool of a test that failed midway), deepest first, so
 * that removing the directory never reaches into a mounted file system. Loop devices detach with their mount.
 */
export function unmountUnder(dir: string): void {
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .map((p) => p.replace(/\\(\d{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))))
    .filter((p) => p === dir || p.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
  for (const m of mounts) {
    try {
      execFileSync('umount', [m], { stdio: 'ignore' });
    } catch {
      execFileSync('umount', ['-l', m], { stdio: 'ignore' });
    }
  }
}

/**
 * What a daemon's managed networks left on the host when a test failed before deleting them: their dnsmasq (by the
 * pid file under `$LXD_DIR/networks/<name>/`), their nftables table and their bridge.
 */
export function removeNetworksOf(lxdDir: string): void {
  const root = join(lxdDir, 'networks');
  if (!existsSync(root)) return;
  for (const name of readdirSync(root)) {
    try {
      const pid = Number(readFileSync(join(root, name, 'dnsmasq.pid'), 'utf8').trim().split(' ')[0]);
      if (pid > 0 && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(`--interface=${name}`)) process.kill(pid, 'SIGKILL');
    } catch {
      // No dnsmasq (any more).
    }
    for (const cmd of [['nft', 'delete', 'table', 'inet', `lxdts_${name.replace(/[^A-Za-z0-9_]/g, '_')}`], ['ip', 'link', 'delete', 'dev', name]]) {
      try {
        execFileSync(cmd[0] as string, cmd.slice(1), { stdio: 'ignore' });
      } catch {
        // Already gone.
      }
    }
  }
}

export function removeTempDir(dir: string): void {
  removeNetworksOf(join(dir, 'lxd'));
  unmountUnder(dir);
  rmSync(dir, { recursive: true, force: true });
  dirs.delete(dir);
}

/** Remember a child process to SIGKILL at exit if it is still registered then. */
export function trackPid(pid: number | undefined): void {
  install();
  if (pid) pids.add(pid);
}

export function untrackPid(pid: number | undefined): void {
  if (pid) pids.delete(pid);
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
