// How the agent attaches to a container's console: `lxc-console -t 0` (tty 0 is the console itself: liblxc's monitor
// hands out a proxy terminal relayed to the container's /dev/console) under `script` (util-linux), which gives it a
// pseudo-terminal as LXD's forkconsole has one: lxc-console copies that terminal's size to the console at attach and
// on SIGWINCH, so a window-resize is `stty` on it, as for exec. Node has no pty of its own.
//
//   - Escape: lxc-console reads `-e X` as the control code 1 + (X - 'Z') for X <= 'Z' (and 1 + (X - 'a') above),
//     and only handles an escape >= 1 (then it also prints a "Connected to tty 0 / Type <Ctrl+a q>" banner). `Y`
//     gives 0 on every architecture (char signedness does not matter): no escape, no banner, every byte goes to the
//     console. LXD's client detaches with its own <ctrl>+a q, client-side.
//   - stderr: liblxc's ERROR lines ("Denied access to tty" when another client holds the console) would otherwise
//     be written on the terminal; the outer shell keeps the spawned process's stderr as fd 3, which `script` passes
//     down, and lxc-console writes there.
//   - The terminal starts raw, without echo and with the client's size, so input typed before lxc-console sets it up
//     is not echoed; lxc-console then applies its own settings (liblxc's lxc_setup_tios, which turns IGNPAR on and
//     flushes pending input with TCSAFLUSH): the session holds input until it sees IGNPAR (`isConsoleTerminalReady`).
import { shellQuote } from '../exec/attach-command.js';

/** A process to spawn for one console session. */
export interface ConsoleLaunch {
  file: string;
  args: string[];
  /** Added to the agent's environment for the spawned process. */
  env: Record<string, string>;
  /**
   * Called once attached and after each resize of the spawned program's terminal. lxc-console copies its terminal's
   * size onto the proxy terminal liblxc's monitor gave it, then asks the monitor (LXC_CMD_TERMINAL_WINCH) to pass it
   * on to the console, but that command has been a no-op since liblxc 4: the monitor does the copy on SIGWINCH.
   */
  windowChanged?: () => void;
}

export interface ConsoleCommandInput {
  lxcPath: string;
  lxcName: string;
  width: number;
  height: number;
}

/** The `-e` argument that disables lxc-console's escape sequence (see above). */
export const NO_ESCAPE = 'Y';

/**
 * Runs `inner` (a /bin/sh command line) on a fresh pseudo-terminal, the spawned process's stderr on fd 3. `script`
 * gets SIGKILL if the agent dies (setpriv, util-linux): its terminal then hangs up, the console program ends and
 * the console is free again (an orphaned `script` would also spin on its closed input).
 */
const PTY_WRAPPER = [
  'exec 3>&2',
  'if command -v setpriv >/dev/null 2>&1; then exec setpriv --pdeathsig KILL script -q -f -e -c "$1" /dev/null; fi',
  'exec script -q -f -e -c "$1" /dev/null',
].join('\n');

export function ptyLaunch(inner: string): ConsoleLaunch {
  return { file: '/bin/sh', args: ['-c', PTY_WRAPPER, 'sh', inner], env: { SHELL: '/bin/sh' } };
}

/** `stty` arguments for the terminal before the console program takes it over. */
export function initialTerminalSettings(width: number, height: number): string {
  const size = width > 0 && height > 0 ? ` rows ${height} cols ${width}` : '';
  return `stty raw -echo -onlcr -ignpar${size}`;
}

export function buildConsoleLaunch(input: ConsoleCommandInput): ConsoleLaunch {
  const consoleCmd = ['lxc-console', '-P', input.lxcPath, '-n', input.lxcName, '-t', '0', '-e', NO_ESCAPE];
  return ptyLaunch(`${initialTerminalSettings(input.width, input.height)} && exec ${consoleCmd.map(shellQuote).join(' ')} 2>&3 3>&-`);
}

/** Whether `stty -a` output shows the settings lxc-console applies (IGNPAR on; we start with it off). */
export function isConsoleTerminalReady(sttyAll: string): boolean {
  return /(^|[\s;])ignpar(?=[\s;]|$)/.test(sttyAll);
}

/** Why lxc-console could not attach, from its stderr (liblxc: `lxc-console: NAME: FILE: FUNC: LINE MESSAGE`). */
export function consoleAttachError(stderr: string, exitCode: number): { conflict: boolean; message: string } {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const messages = lines.map((l) => /^lxc-console: .*?: \S+: \S+: \d+ (.*)$/.exec(l)?.[1] ?? l);
  const all = messages.join('\n');
  if (/Denied access to tty/.test(all)) return { conflict: true, message: 'The console is already in use' };
  if (/ is not running$/m.test(all)) return { conflict: true, message: 'Instance is not running' };
  const last = messages[messages.length - 1];
  return { conflict: false, message: `Failed to attach to the console: ${last ?? `lxc-console exited with status ${exitCode}`}` };
}
