// A host terminal's window size: TIOCSWINSZ through `stty -F` (the process reading that terminal gets SIGWINCH).
// Used by exec (the pty lxc-attach reads from) and console (lxc-console's terminal).
import type { ProcessRunner } from '../process/run.js';

/** Resolves with null when applied, else with stty's message. */
export async function setTerminalSize(runner: ProcessRunner, tty: string, width: number, height: number): Promise<string | null> {
  const r = await runner.tryRun('stty', ['-F', tty, 'rows', String(height), 'cols', String(width)], { timeoutMs: 5_000 });
  return r.exitCode === 0 ? null : r.stderr.trim();
}
