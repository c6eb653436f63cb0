// How a streamed exec runs: `lxc-attach` with a clean environment, the user, group and working directory asked for
// (or, when it is built, lxdts-attach: apps/agent/native, the same result without liblxc's start-up cost); in
// interactive mode under `script` (util-linux, always installed on Debian), which gives lxc-attach a pseudo-
// terminal: lxc-attach then allocates the command's terminal inside the container and relays to ours, copying our
// window size on SIGWINCH. Node has no pty of its own and the agent takes no native addon for one.
import { realpathSync, statSync } from 'node:fs';
import { posix } from 'node:path';
import type { AgentExecStart } from '@lxdts/api-types';

/** A process to spawn for one exec. */
export interface ExecLaunch {
  file: string;
  args: string[];
  /** Added to the agent's environment for the spawned process (not the command's: lxc-attach clears it). */
  env: Record<string, string>;
  /** The spawned process's working directory. lxc-attach carries it into the container (see `hostCwdFor`). */
  cwd: string;
  /**
   * How many generations below the spawned process the command is: 1 for lxc-attach (the command is its child,
   * liblxc forks it with CLONE_PARENT), 2 under `script` (script → lxc-attach → command).
   */
  depth: 1 | 2;
  /** lxdts-attach started with --wait-go: spawned ahead, it runs the command once it reads one byte of input. */
  waitsForGo?: boolean;
}

export interface AttachInput {
  lxcPath: string;
  lxcName: string;
  start: AgentExecStart;
  /** Whether a host directory can stand in for `start.cwd` (default: a real, symlink-free directory). */
  hostHasDir?: (path: string) => boolean;
}

/**
 * lxc-attach has no working-directory option, but liblxc starts the command in the caller's working directory
 * when the container has it ("/" otherwise, with only a warning, as LXD's forkexec passing initial_cwd). So when
 * the host has the same path as a real directory (no symlink in it, or liblxc would see the resolved path), the
 * spawned process simply runs there. Otherwise a shell changes directory first (see CWD_WRAPPER).
 */
export function hostCwdFor(cwd: string, hostHasDir: (path: string) => boolean = realHostDir): string | null {
  if (cwd === '' || cwd === '/') return '/';
  if (!cwd.startsWith('/')) return null;
  const normal = posix.normalize(cwd).replace(/\/+$/, '');
  return hostHasDir(normal) ? normal : null;
}

function realHostDir(path: string): boolean {
  try {
    return statSync(path).isDirectory() && realpathSync(path) === path;
  } catch {
    return false;
  }
}

/**
 * Changes into $1 (or stays in "/", as liblxc does when the directory is missing), then runs the command. The
 * checks before `exec` give lxc-attach's exit codes without the shell's own "not found" message on stderr:
 * 127 when the command does not exist, 126 when it is not an executable file.
 */
export const CWD_WRAPPER = [
  'cd "$1" 2>/dev/null || cd /',
  'shift',
  'case "$1" in',
  '*/*) [ -e "$1" ] || exit 127; { [ -f "$1" ] && [ -x "$1" ]; } || exit 126 ;;',
  '*) f=; IFS=:; for d in $PATH; do if [ -f "$d/$1" ] && [ -x "$d/$1" ]; then f=1; break; fi; done; unset IFS; [ -n "$f" ] || exit 127 ;;',
  'esac',
  'exec "$@"',
].join('\n');

/** Single-quotes a word for /bin/sh. */
export const shellQuote = (word: string): string => `'${word.replace(/'/g, `'\\''`)}'`;

/** The lxc-attach command line (and, interactive, the `script` around it) for one exec. */
export function buildAttachLaunch(input: AttachInput): ExecLaunch {
  const { start } = input;
  const hostCwd = hostCwdFor(start.cwd, input.hostHasDir);
  const program = hostCwd === null ? ['/bin/sh', '-c', CWD_WRAPPER, 'sh', start.cwd, ...start.command] : start.command;
  const attach = [
    'lxc-attach',
    // No lxc-attach messages ("Failed to exec ...") in the command's stderr: LXD's forkexec writes none there. The
    // attached child logs them on its stderr even with a log file (-o), so they are silenced, not redirected.
    '-q',
    '-P',
    input.lxcPath,
    '-n',
    input.lxcName,
    '--clear-env',
    '-u',
    String(start.uid),
    '-g',
    String(start.gid),
    ...Object.entries(start.env).flatMap(([k, v]) => ['-v', `${k}=${v}`]),
    '--',
    ...program,
  ];
  return launch(attach, start, hostCwd ?? '/');
}

/** What lxdts-attach needs besides the exec request: the container's init and what liblxc's config adds. */
export interface HelperAttachInput {
  /** The lxdts-attach binary. */
  helper: string;
  lxcName: string;
  /** The container's init as the host sees it, and its start time (so a reused pid is refused). */
  init: { pid: number; startTime: string };
  /** `lxc.environment` values (`K=V`), set before the request's environment as lxc-attach does. */
  configEnv: string[];
  /** `lxc.prlimit.<name>` = value, applied to the command as lxc-attach applies them. */
  rlimits: Record<string, string>;
  start: AgentExecStart;
}

/** The lxdts-attach command line (and, interactive, the `script` around it): the same process as lxc-attach's. */
export function buildHelperLaunch(input: HelperAttachInput): ExecLaunch {
  const { start } = input;
  const attach = [
    input.helper,
    '--pid',
    String(input.init.pid),
    '--start-time',
    input.init.startTime,
    '--name',
    input.lxcName,
    '--uid',
    String(start.uid),
    '--gid',
    String(start.gid),
    // The helper changes directory inside the container (as the container's root; "/" when it is missing).
    ...(start.cwd === '' ? [] : ['--cwd', start.cwd]),
    ...Object.entries(input.rlimits).flatMap(([k, v]) => ['--rlimit', `${k}=${v}`]),
    ...input.configEnv.flatMap((kv) => ['--env', kv]),
    ...Object.entries(start.env).flatMap(([k, v]) => ['--env', `${k}=${v}`]),
    // Armed without a terminal (under `script` the first byte would be the terminal's): spawned now, runs on "go".
    ...(armedAhead(start) ? ['--wait-go'] : []),
    '--',
    ...start.command,
  ];
  return { ...launch(attach, start, '/'), ...(armedAhead(start) ? { waitsForGo: true } : {}) };
}

const armedAhead = (start: AgentExecStart): boolean => start.armed === true && !start.interactive;

function launch(attach: string[], start: AgentExecStart, cwd: string): ExecLaunch {
  if (!start.interactive) return { file: attach[0] as string, args: attach.slice(1), env: {}, cwd, depth: 1 };

  // The pty starts raw, without echo and the right size, before lxc-attach takes it over (lxc-attach keeps those
  // input settings but turns ONLCR back on for output; exec-session undoes that translation). lxdts-attach does
  // the same (liblxc's lxc_setup_tios).
  const size = start.width > 0 && start.height > 0 ? ` rows ${start.height} cols ${start.width}` : '';
  const inner = `stty raw -echo -onlcr${size} && exec ${attach.map(shellQuote).join(' ')}`;
  return { file: 'script', args: ['-q', '-f', '-e', '-c', inner, '/dev/null'], env: { SHELL: '/bin/sh' }, cwd, depth: 2 };
}
