// lxdts-attach against lxc-attach in a real container: the same probe through both (command lines from the agent's
// own builders), and everything that makes up the command's confinement compared: ids and maps seen from the host,
// capabilities, seccomp (the exact BPF), NoNewPrivs, namespaces and cgroups (against init's), pid 1, environment,
// working directory, rlimits, stdio, exit codes. Skips when not root, without liblxc or without the built helper.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { AgentExecStart } from '@lxdts/api-types';
import { type BusyboxContainer, containerTestSkipReason, startBusyboxContainer } from '@lxdts/test-containers';
import { readInitRecord } from '../runtime/container-process.js';
import { type ContainerTestAgent, startContainerTestAgent } from '../testing/container-test-agent.js';
import { type ExecLaunch, buildAttachLaunch, buildHelperLaunch } from './attach-command.js';
import { DEFAULT_HELPER_PATH, readAttachConfig } from './attach-helper.js';
import { findCommand, inOtherPidNamespace } from './process-tree.js';

const skip = containerTestSkipReason() || (existsSync(DEFAULT_HELPER_PATH) ? false : 'lxdts-attach is not built (apps/agent/native/build.sh)');

const ENV = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', HOME: '/root', LANG: 'C.UTF-8', FOO: 'a b=c' };

// What the command sees from inside; it then waits for one line of input and echoes it.
const PROBE = [
  'grep -E "^(Uid|Gid|Groups|Cap[A-Za-z]+|NoNewPrivs|Seccomp|Seccomp_filters|Speculation_Store_Bypass):" /proc/self/status',
  'for ns in cgroup ipc mnt net pid time user uts; do [ "$(readlink /proc/self/ns/$ns)" = "$(readlink /proc/1/ns/$ns)" ] && echo "$ns same as init" || echo "$ns differs"; done',
  'echo "cgroup:"; cat /proc/self/cgroup',
  'echo "pid 1: $(cat /proc/1/comm) parent pid: $PPID"',
  'echo "env:"; env | sort',
  'echo "cwd: $(pwd)"',
  'echo "personality: $(cat /proc/self/personality)"',
  'grep -E "^Max (open files|processes)" /proc/self/limits',
  'for fd in 0 1 2; do ls -lnL /proc/self/fd/$fd | cut -c1-10,12-30; done',
  'read line; echo "stdin: $line"',
].join('\n');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  /** The command's host-side view, read while it waited for input. */
  host: { status: string; uidMap: string; gidMap: string; cgroup: string; seccomp: string; nsNotInit: string[] } | null;
}

const NAMESPACES = ['cgroup', 'ipc', 'mnt', 'net', 'pid', 'time', 'user', 'uts'];
/** The container's init (host pid), set once the container runs. */
let initPid = 0;

function runLaunch(launch: ExecLaunch, input: string | null, probe: boolean): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(launch.file, launch.args, { cwd: launch.cwd, env: { ...process.env, ...launch.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    let host: Run['host'] = null;
    const feed = async () => {
      if (probe) {
        const until = Date.now() + 10_000;
        // The command is the spawned process's child in another pid namespace (the agent's isCommand).
        let found = findCommand(child.pid as number, 1, inOtherPidNamespace);
        while (!found && Date.now() < until) {
          await new Promise((r) => setTimeout(r, 5));
          found = findCommand(child.pid as number, 1, inOtherPidNamespace);
        }
        assert.ok(found, 'command found under the spawned process');
        await new Promise((r) => setTimeout(r, 200)); // Past exec and into `read`.
        const p = `/proc/${found.pid}`;
        const dump = spawnSync(DEFAULT_HELPER_PATH, ['--dump-seccomp', String(found.pid)], { encoding: 'utf8' });
        host = {
          // Ids as the host sees them; NSpid only as its depth (the pids themselves differ from run to run).
          status: readFileSync(`${p}/status`, 'utf8')
            .split('\n')
            .filter((l) => /^(Uid|Gid|NSpid):/.test(l))
            .map((l) => (l.startsWith('NSpid:') ? `NSpid depth ${l.split('\t').length - 1}` : l))
            .join('\n'),
          uidMap: readFileSync(`${p}/uid_map`, 'utf8'),
          gidMap: readFileSync(`${p}/gid_map`, 'utf8'),
          cgroup: readFileSync(`${p}/cgroup`, 'utf8'),
          seccomp: dump.stdout,
          nsNotInit: NAMESPACES.filter((ns) => readlinkSync(`${p}/ns/${ns}`) !== readlinkSync(`/proc/${initPid}/ns/${ns}`)),
        };
      }
      if (input !== null) child.stdin.write(input);
      child.stdin.end();
    };
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code: code ?? 128 + (signal ? 9 : 0), stdout, stderr, host }));
    feed().catch(reject);
  });
}

describe('lxdts-attach gives the command what lxc-attach gives it', { skip }, () => {
  const name = `lxdts-h-${randomBytes(4).toString('hex')}`;
  let host: ContainerTestAgent | undefined;
  let container: BusyboxContainer | undefined;

  before(async () => {
    host = await startContainerTestAgent('lxdts-h-');
    container = await startBusyboxContainer({
      socketPath: host.sock,
      workDir: host.dir,
      lxcpath: host.lxcpath,
      name,
      config: { 'environment.FROM_CONFIG': 'yes', 'limits.kernel.nofile': '1000:2000' },
    });
  });

  after(async () => {
    await container?.remove();
    await host?.close();
  });

  const launches = (over: Partial<AgentExecStart>) => {
    const start: AgentExecStart = { command: ['sh', '-c', PROBE], env: ENV, cwd: '/root', uid: 0, gid: 0, interactive: false, width: 0, height: 0, ...over };
    const dir = join(host!.lxcpath, name);
    const init = readInitRecord(join(dir, 'init.pid'));
    const config = readAttachConfig(join(dir, 'config'));
    assert.ok(init && config && config.unsupported === null);
    initPid = init.pid;
    return {
      lxc: buildAttachLaunch({ lxcPath: host!.lxcpath, lxcName: name, start }),
      helper: buildHelperLaunch({ helper: DEFAULT_HELPER_PATH, lxcName: name, init, configEnv: config.env, rlimits: config.rlimits, start }),
    };
  };

  for (const [label, over] of [
    ['root, cwd /root', {}],
    ['uid 1000 gid 1001, cwd /tmp', { uid: 1000, gid: 1001, cwd: '/tmp' }],
    ['missing cwd falls back to /', { cwd: '/no/such/dir' }],
  ] as const) {
    test(`probe as ${label}: identical output and host view`, async () => {
      const { lxc, helper } = launches(over);
      const a = await runLaunch(lxc, 'ping\n', true);
      const b = await runLaunch(helper, 'ping\n', true);
      assert.equal(b.stderr, a.stderr);
      // The agent reaches a directory the host lacks through a shell for lxc-attach (CWD_WRAPPER): its traces aside.
      const shellTraces = (out: string) => out.replace(/^(OLDPWD|SHLVL)=.*\n/gm, '');
      assert.equal(shellTraces(b.stdout), shellTraces(a.stdout));
      assert.deepEqual(b.host, a.host);
      assert.equal(b.code, 0);
      assert.equal(a.code, 0);
      // And what that output says, against init.
      assert.match(b.stdout, /^pid 1: init parent pid: 0$/m);
      // (Only root inside may read init's namespace links.)
      const nsState = over.uid ? 'differs' : 'same as init';
      for (const ns of NAMESPACES) assert.match(b.stdout, new RegExp(`^${ns} ${nsState}$`, 'm'));
      assert.match(b.stdout, /^stdin: ping$/m);
      assert.match(b.stdout, /^FROM_CONFIG=yes$/m);
      assert.match(b.stdout, /^container=lxc$/m);
      assert.match(b.stdout, /^FOO=a b=c$/m);
      assert.match(b.stdout, /^Max open files\s+1000\s+2000/m);
      const initStatus = readFileSync(`/proc/${initPid}/status`, 'utf8');
      const field = (text: string, key: string) => new RegExp(`^${key}:\\s*(.*)$`, 'm').exec(text)?.[1];
      for (const key of ['CapBnd', 'NoNewPrivs', 'Seccomp', 'Seccomp_filters']) assert.equal(field(b.stdout, key), field(initStatus, key), key);
      const initSeccomp = spawnSync(DEFAULT_HELPER_PATH, ['--dump-seccomp', String(initPid)], { encoding: 'utf8' }).stdout;
      assert.ok(initSeccomp.length > 0);
      assert.equal(b.host?.seccomp, initSeccomp);
      // Init's cgroups in every hierarchy; the unified one through liblxc's `.lxc` leaf.
      const initCgroup = readFileSync(`/proc/${initPid}/cgroup`, 'utf8');
      assert.equal(b.host?.cgroup, initCgroup.replace(/^(0::.*)$/m, '$1/.lxc'));
      assert.deepEqual(b.host?.nsNotInit, []);
      assert.equal(b.host?.uidMap, readFileSync(`/proc/${initPid}/uid_map`, 'utf8'));
    });
  }

  test('exit codes: 0, 7, not executable 126, missing 127, killed 137; no message from the helper', async () => {
    for (const [command, code] of [
      [['true'], 0],
      [['sh', '-c', 'exit 7'], 7],
      [['/etc/passwd'], 126],
      [['/tmp'], 126],
      [['/nonexistent'], 127],
      [['no-such-command'], 127],
      [['sh', '-c', 'kill -9 $$'], 137],
    ] as const) {
      const { lxc, helper } = launches({ command: [...command] });
      const a = await runLaunch(lxc, null, false);
      const b = await runLaunch(helper, null, false);
      assert.deepEqual([b.code, b.stdout, b.stderr], [code, '', ''], command.join(' '));
      assert.deepEqual([a.code, a.stdout, a.stderr], [code, '', ''], command.join(' '));
    }
  });

  test('concurrent execs (each briefly traces init to copy its filters) all run', async () => {
    const { helper } = launches({ command: ['sh', '-c', 'exit 3'] });
    const runs = await Promise.all(Array.from({ length: 24 }, () => runLaunch(helper, null, false)));
    assert.deepEqual(
      runs.map((r) => [r.code, r.stderr]),
      runs.map(() => [3, '']),
    );
  });

  test('--wait-go: nothing enters the container before the go byte; then the rest of stdin is the command\'s; no byte: 125', async () => {
    const marker = `/tmp/went-${randomBytes(3).toString('hex')}`;
    const rootfsMarker = () => existsSync(`/proc/${initPid}/root${marker}`);
    const armed = launches({ command: ['sh', '-c', `touch ${marker}; cat`], armed: true }).helper;
    assert.equal(armed.waitsForGo, true);
    assert.ok(armed.args.includes('--wait-go'));
    const child = spawn(armed.file, armed.args, { cwd: armed.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const closed = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(rootfsMarker(), false, 'the command waited for the go');
    child.stdin.write('g' + 'payload');
    child.stdin.end();
    assert.equal(await closed, 0);
    assert.equal(out, 'payload');
    assert.equal(rootfsMarker(), true);
    // Dropped before the go: nothing ran.
    const marker2 = `${marker}-never`;
    const dropped = launches({ command: ['touch', marker2], armed: true }).helper;
    const r = spawnSync(dropped.file, dropped.args, { input: '', encoding: 'utf8' });
    assert.deepEqual([r.status, r.stdout], [125, '']);
    assert.equal(existsSync(`/proc/${initPid}/root${marker2}`), false);
    // Interactive ones run under `script`, whose input is a terminal: they are spawned on the go instead.
    assert.equal(launches({ command: ['true'], armed: true, interactive: true }).helper.waitsForGo, undefined);
  });

  test('stdin passes through until its end', async () => {
    const { helper } = launches({ command: ['cat'] });
    const r = await runLaunch(helper, 'x'.repeat(200_000), false);
    assert.equal(r.stdout.length, 200_000);
    assert.equal(r.code, 0);
  });

  test('refuses a process that is not a container init, and a wrong start time', async () => {
    const start: AgentExecStart = { command: ['true'], env: {}, cwd: '', uid: 0, gid: 0, interactive: false, width: 0, height: 0 };
    const self = readFileSync('/proc/self/stat', 'utf8');
    const selfStart = self.slice(self.lastIndexOf(')') + 2).split(' ')[19] as string;
    const onHost = buildHelperLaunch({ helper: DEFAULT_HELPER_PATH, lxcName: name, init: { pid: process.pid, startTime: selfStart }, configEnv: [], rlimits: {}, start });
    const r = await runLaunch(onHost, null, false);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /not (pid 1 of a pid namespace|a container)/);
    const init = readInitRecord(join(host!.lxcpath, name, 'init.pid'))!;
    const stale = buildHelperLaunch({ helper: DEFAULT_HELPER_PATH, lxcName: name, init: { pid: init.pid, startTime: '1' }, configEnv: [], rlimits: {}, start });
    const s = await runLaunch(stale, null, false);
    assert.equal(s.code, 1);
    assert.match(s.stderr, /start time/);
  });
});
