// Last-resort cleanup: whatever a test file leaves registered here (temp dirs, child processes) is removed or
// killed when the process exits, even on a signal or an uncaught error. Normal cleanup happens in after() hooks.
import { mkdtempSync, rmSync } from 'node:fs';
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
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
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

export function removeTempDir(dir: string): void {
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
