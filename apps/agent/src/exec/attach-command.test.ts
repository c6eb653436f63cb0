import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import type { AgentExecStart } from '@lxdts/api-types';
import { CWD_WRAPPER, buildAttachLaunch, buildHelperLaunch, hostCwdFor, shellQuote } from './attach-command.js';
import { parseAttachConfig } from './attach-helper.js';

const start = (over: Partial<AgentExecStart> = {}): AgentExecStart => ({
  command: ['cat', '/proc/1/comm'],
  env: { PATH: '/bin', HOME: '/root' },
  cwd: '',
  uid: 0,
  gid: 0,
  interactive: false,
  width: 0,
  height: 0,
  ...over,
});
const base = { lxcPath: '/var/lib/lxdts/containers', lxcName: 'c1' };

test('non-interactive: lxc-attach, quiet, clean environment, uid/gid, the command', () => {
  const l = buildAttachLaunch({ ...base, start: start({ uid: 1000, gid: 100 }) });
  assert.equal(l.file, 'lxc-attach');
  assert.deepEqual(l.args, [
    '-q', '-P', base.lxcPath, '-n', 'c1', '--clear-env', '-u', '1000', '-g', '100',
    '-v', 'PATH=/bin', '-v', 'HOME=/root', '--', 'cat', '/proc/1/comm',
  ]);
  assert.equal(l.cwd, '/');
  assert.equal(l.depth, 1);
});

test('working directory: the host stands in when it has the same real directory, else a shell changes into it', () => {
  const has = (p: string) => p === '/root' || p === '/tmp';
  assert.equal(hostCwdFor('', has), '/');
  assert.equal(hostCwdFor('/', has), '/');
  assert.equal(hostCwdFor('/tmp/', has), '/tmp');
  assert.equal(hostCwdFor('/srv/app', has), null);
  assert.equal(hostCwdFor('relative', has), null);
  const onHost = buildAttachLaunch({ ...base, start: start({ cwd: '/tmp' }), hostHasDir: has });
  assert.equal(onHost.cwd, '/tmp');
  assert.deepEqual(onHost.args.slice(-2), ['cat', '/proc/1/comm']);
  const wrapped = buildAttachLaunch({ ...base, start: start({ cwd: '/srv/app' }), hostHasDir: has });
  assert.equal(wrapped.cwd, '/');
  assert.deepEqual(wrapped.args.slice(wrapped.args.indexOf('--')), ['--', '/bin/sh', '-c', CWD_WRAPPER, 'sh', '/srv/app', 'cat', '/proc/1/comm']);
});

test('the cwd wrapper: directory, exit codes 127/126 without a shell message, arguments kept', () => {
  const run = (args: string[]) => {
    try {
      return { code: 0, out: execFileSync('/bin/sh', ['-c', CWD_WRAPPER, 'sh', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: '/usr/bin:/bin' } }) };
    } catch (err) {
      const e = err as { status: number; stdout: string; stderr: string };
      return { code: e.status, out: e.stdout, err: e.stderr };
    }
  };
  assert.deepEqual(run(['/tmp', 'pwd']), { code: 0, out: '/tmp\n' });
  assert.deepEqual(run(['/no/such/dir', 'pwd']), { code: 0, out: '/\n' });
  assert.deepEqual(run(['/', 'sh', '-c', 'echo "$1 $2"', 'x', 'a b', "c'd"]), { code: 0, out: "a b c'd\n" });
  assert.deepEqual(run(['/', '/nonexistent']), { code: 127, out: '', err: '' });
  assert.deepEqual(run(['/', 'nonexistent-command']), { code: 127, out: '', err: '' });
  assert.deepEqual(run(['/', '/etc/passwd']), { code: 126, out: '', err: '' });
  assert.deepEqual(run(['/', '/tmp']), { code: 126, out: '', err: '' });
  assert.equal(run(['/', 'sh', '-c', 'exit 7']).code, 7);
});

test('interactive: script gives lxc-attach a raw pty of the requested size', () => {
  const l = buildAttachLaunch({ ...base, start: start({ interactive: true, width: 100, height: 30, command: ['sh', '-c', "echo 'quoted'"] }) });
  assert.equal(l.file, 'script');
  assert.deepEqual(l.args.slice(0, 4), ['-q', '-f', '-e', '-c']);
  assert.equal(l.args[5], '/dev/null');
  assert.equal(l.env['SHELL'], '/bin/sh');
  assert.equal(l.depth, 2);
  const line = l.args[4] as string;
  assert.match(line, /^stty raw -echo -onlcr rows 30 cols 100 && exec 'lxc-attach' '-q' /);
  assert.ok(line.endsWith(`'--' 'sh' '-c' 'echo '\\''quoted'\\'''`), line);
  // The quoted line gives back the same argument vector.
  const argv = execFileSync('/bin/sh', ['-c', `printf '%s\\n' ${line.slice(line.indexOf("'lxc-attach'"))}`], { encoding: 'utf8' }).trimEnd().split('\n');
  assert.deepEqual(argv.slice(-3), ['sh', '-c', "echo 'quoted'"]);
  assert.doesNotMatch(buildAttachLaunch({ ...base, start: start({ interactive: true }) }).args[4] as string, /rows/);
  assert.equal(shellQuote("a'b"), `'a'\\''b'`);
});

test('lxdts-attach: init, ids, cwd inside the container, rlimits, config env before the request env', () => {
  const l = buildHelperLaunch({
    helper: '/opt/lxdts-attach',
    lxcName: 'c1',
    init: { pid: 4242, startTime: '987' },
    configEnv: ['FROM_CONFIG=1'],
    rlimits: { nofile: '1000:2000' },
    start: start({ uid: 1000, gid: 100, cwd: '/srv/app' }),
  });
  assert.equal(l.file, '/opt/lxdts-attach');
  assert.deepEqual(l.args, [
    '--pid', '4242', '--start-time', '987', '--name', 'c1', '--uid', '1000', '--gid', '100', '--cwd', '/srv/app',
    '--rlimit', 'nofile=1000:2000', '--env', 'FROM_CONFIG=1', '--env', 'PATH=/bin', '--env', 'HOME=/root',
    '--', 'cat', '/proc/1/comm',
  ]);
  assert.deepEqual([l.cwd, l.depth], ['/', 1]);
  const noCwd = buildHelperLaunch({ helper: '/h', lxcName: 'c1', init: { pid: 2, startTime: '1' }, configEnv: [], rlimits: {}, start: start() });
  assert.ok(!noCwd.args.includes('--cwd'));
  const interactive = buildHelperLaunch({ helper: '/h', lxcName: 'c1', init: { pid: 2, startTime: '1' }, configEnv: [], rlimits: {}, start: start({ interactive: true, width: 80, height: 24 }) });
  assert.equal(interactive.file, 'script');
  assert.match(interactive.args[4] as string, /^stty raw -echo -onlcr rows 24 cols 80 && exec '\/h' '--pid' '2' /);
  assert.equal(interactive.depth, 2);
});

test('liblxc config for lxdts-attach: environment, prlimits; keys it does not reproduce', () => {
  const c = parseAttachConfig(
    ['# comment', 'lxc.environment = A=1', 'lxc.environment = B=x y', 'lxc.prlimit.nofile = 1000:2000', 'lxc.apparmor.profile = unconfined', 'lxc.seccomp.profile = /p', ''].join('\n'),
  );
  assert.deepEqual(c, { env: ['A=1', 'B=x y'], rlimits: { nofile: '1000:2000' }, unsupported: null });
  for (const line of ['lxc.proc.oom_score_adj = 10', 'lxc.namespace.share.net = other', 'lxc.apparmor.profile = lxc-default', 'lxc.include = /x', 'lxc.seccomp.notify.proxy = unix:/s', 'lxc.selinux.context = x']) {
    assert.equal(parseAttachConfig(line).unsupported, line.split(' ')[0], line);
  }
});
