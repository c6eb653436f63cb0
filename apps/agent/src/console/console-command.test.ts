import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { NO_ESCAPE, buildConsoleLaunch, consoleAttachError, initialTerminalSettings, isConsoleTerminalReady, ptyLaunch } from './console-command.js';

/** lxc-console's etoc(): the control code it reads from `-e X`, as a C `char` (signed or unsigned). */
function etoc(expr: string, signedChar: boolean): number {
  const c = (expr[0] === '^' ? expr[1] : expr[0])!.charCodeAt(0);
  const v = 1 + (c > 'Z'.charCodeAt(0) ? c - 'a'.charCodeAt(0) : c - 'Z'.charCodeAt(0));
  const byte = v & 0xff;
  return signedChar && byte > 127 ? byte - 256 : byte;
}

describe('console command line', () => {
  test('lxc-console on tty 0 under script, stderr on fd 3, escape disabled', () => {
    const l = buildConsoleLaunch({ lxcPath: '/var/lib/lxd/containers', lxcName: 'p_c1', width: 100, height: 40 });
    assert.equal(l.file, '/bin/sh');
    assert.equal(l.args[0], '-c');
    assert.match(l.args[1]!, /^exec 3>&2\n.*exec setpriv --pdeathsig KILL script -q -f -e -c "\$1" \/dev\/null/);
    assert.equal(l.args[2], 'sh');
    assert.equal(
      l.args[3],
      "stty raw -echo -onlcr -ignpar rows 40 cols 100 && exec 'lxc-console' '-P' '/var/lib/lxd/containers' '-n' 'p_c1' '-t' '0' '-e' 'Y' 2>&3 3>&-",
    );
    assert.deepEqual(l.env, { SHELL: '/bin/sh' });
  });

  test('no size: the terminal keeps its default', () => {
    assert.equal(initialTerminalSettings(0, 0), 'stty raw -echo -onlcr -ignpar');
    assert.equal(initialTerminalSettings(80, 0), 'stty raw -echo -onlcr -ignpar');
    assert.equal(ptyLaunch('true').args[3], 'true');
  });

  test('the escape character never triggers (lxc-console handles escapes >= 1 only), whatever char signedness', () => {
    assert.equal(etoc(NO_ESCAPE, true), 0);
    assert.equal(etoc(NO_ESCAPE, false), 0);
    // The default (a) is ctrl+a; '@' would be negative with a signed char but 231 with an unsigned one.
    assert.equal(etoc('a', true), 1);
    assert.equal(etoc('@', false), 231);
  });

  test('terminal set up by lxc-console: IGNPAR on', () => {
    assert.equal(isConsoleTerminalReady('speed 38400 baud; rows 24; columns 80; line = 0;\n-ignbrk -brkint ignpar -parmrk\n'), true);
    assert.equal(isConsoleTerminalReady('speed 38400 baud;\n-ignbrk -brkint -ignpar -parmrk\n'), false);
    assert.equal(isConsoleTerminalReady('ignpar'), true);
    assert.equal(isConsoleTerminalReady(''), false);
  });

  test('attach errors from liblxc lines', () => {
    const busy = consoleAttachError(
      'lxc-console: c1: ../src/lxc/commands.c: lxc_cmd_get_tty_fd: 1200 Bad file descriptor - Denied access to tty\n',
      1,
    );
    assert.deepEqual(busy, { conflict: true, message: 'The console is already in use' });
    assert.deepEqual(consoleAttachError('lxc-console: c1: ../src/lxc/tools/lxc_console.c: main: 129 c1 is not running\n', 1), {
      conflict: true,
      message: 'Instance is not running',
    });
    assert.deepEqual(consoleAttachError('lxc-console: c1: ../src/lxc/commands.c: f: 12 Something odd\n', 1), {
      conflict: false,
      message: 'Failed to attach to the console: Something odd',
    });
    assert.deepEqual(consoleAttachError('', 2), { conflict: false, message: 'Failed to attach to the console: lxc-console exited with status 2' });
  });
});
