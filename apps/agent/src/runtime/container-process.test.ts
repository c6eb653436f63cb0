// The spawn-free container status: the recorded init checked against a fake /proc and cgroup tree.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  checkInit,
  findInit,
  formatInitRecord,
  freezerState,
  innermostPid,
  isMonitor,
  parseInitRecord,
  parseProcStat,
  payloadCgroups,
} from './container-process.js';

const stat = (pid: number, comm: string, state: string, ppid: number, start: number) =>
  `${pid} (${comm}) ${state} ${ppid} ${pid} ${pid} 0 -1 4194560 126 41 0 0 0 0 0 0 20 0 1 0 ${start} 2322432 332 18446744073709551615 0 0\n`;

test('parseProcStat: state, parent and start time, whatever the command name holds', () => {
  assert.deepEqual(parseProcStat(stat(1650, 'init', 'S', 1649, 510824)), { state: 'S', ppid: 1649, startTime: '510824' });
  assert.deepEqual(parseProcStat(stat(7, 'a) b (c', 'Z', 1, 99)), { state: 'Z', ppid: 1, startTime: '99' });
  assert.equal(parseProcStat('garbage'), null);
});

test('init.pid round trip; innermost pid from NSpid', () => {
  assert.deepEqual(parseInitRecord(formatInitRecord({ pid: 1650, startTime: '510824' })), { pid: 1650, startTime: '510824' });
  assert.equal(parseInitRecord('1\n'), null);
  assert.equal(parseInitRecord('x 1\n'), null);
  assert.equal(innermostPid('Name:\tinit\nNSpid:\t1650\t1\n'), 1);
  assert.equal(innermostPid('NSpid:\t1650\n'), 1650);
  assert.equal(innermostPid('Name:\tinit\n'), null);
});

test('payloadCgroups: the container\'s own directory in each hierarchy, or null for another process', () => {
  const text = '9:name=systemd:/lxc.payload.c1/init.scope\n6:freezer:/lxc.payload.c1\n2:cpu,cpuacct:/lxc.payload.c1\n0::/lxc.payload.c1/init.scope\n';
  const dirs = payloadCgroups(text, 'c1');
  assert.equal(dirs?.get('freezer'), '/sys/fs/cgroup/freezer/lxc.payload.c1');
  assert.equal(dirs?.get('cpuacct'), '/sys/fs/cgroup/cpu,cpuacct/lxc.payload.c1');
  assert.equal(dirs?.get('name=systemd'), '/sys/fs/cgroup/systemd/lxc.payload.c1');
  assert.equal(dirs?.get('unified'), '/sys/fs/cgroup/unified/lxc.payload.c1');
  assert.equal(payloadCgroups('0::/lxc.payload.c1\n', 'c1', '/cg', true)?.get('unified'), '/cg/lxc.payload.c1');
  // liblxc's suffix when another lxcpath has a container of that name.
  assert.equal(payloadCgroups('6:freezer:/lxc.payload.c1-1\n', 'c1')?.get('freezer'), '/sys/fs/cgroup/freezer/lxc.payload.c1-1');
  // Not a prefix match, not another container, not the host.
  assert.equal(payloadCgroups('6:freezer:/lxc.payload.c10\n', 'c1'), null);
  assert.equal(payloadCgroups('6:freezer:/lxc.payload.c1x\n', 'c1'), null);
  assert.equal(payloadCgroups('6:freezer:/lxc.monitor.c1\n0::/\n', 'c1'), null);
  assert.equal(payloadCgroups('6:freezer:/lxc.payload.p_c.1\n', 'p_c.1')?.get('freezer'), '/sys/fs/cgroup/freezer/lxc.payload.p_c.1');
  assert.equal(payloadCgroups('6:freezer:/lxc.payload.pXc11\n', 'p.c1'), null);
});

describe('a fake /proc', () => {
  let dir = '';
  let proc = '';
  const writeProc = (pid: number, files: Record<string, string>) => {
    mkdirSync(join(proc, String(pid), 'task', String(pid)), { recursive: true });
    for (const [f, text] of Object.entries(files)) writeFileSync(join(proc, String(pid), f), text);
  };
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'lxdts-proc-'));
    proc = join(dir, 'proc');
    // Monitor 100 with a hook child (101, host pid namespace) and the init (102).
    writeProc(100, { stat: stat(100, 'lxc-start', 'S', 1, 500), cmdline: '[lxc monitor] /var/lib/lxdts/containers c1\0' });
    writeFileSync(join(proc, '100', 'task', '100', 'children'), '101 102 ');
    writeProc(101, { stat: stat(101, 'sh', 'S', 100, 501), status: 'NSpid:\t101\n', cgroup: '6:freezer:/lxc.monitor.c1\n' });
    writeProc(102, { stat: stat(102, 'init', 'S', 100, 502), status: 'NSpid:\t102\t1\n', cgroup: '6:freezer:/lxc.payload.c1\n' });
    // A zombie init.
    writeProc(103, { stat: stat(103, 'init', 'Z', 100, 503), status: 'NSpid:\t103\t1\n', cgroup: '6:freezer:/lxc.payload.c1\n' });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('checkInit believes only a live pid 1 in the container\'s cgroup, started when recorded', () => {
    assert.equal(checkInit({ pid: 102, startTime: '502' }, 'c1', proc).alive, true);
    assert.equal(checkInit({ pid: 102, startTime: '502' }, 'c1', proc).cgroups?.get('freezer'), '/sys/fs/cgroup/freezer/lxc.payload.c1');
    assert.equal(checkInit({ pid: 102, startTime: '9' }, 'c1', proc).alive, false, 'pid reused');
    assert.equal(checkInit({ pid: 102, startTime: '502' }, 'c2', proc).alive, false, 'another container');
    assert.equal(checkInit({ pid: 101, startTime: '501' }, 'c1', proc).alive, false, 'not pid 1 inside');
    assert.equal(checkInit({ pid: 103, startTime: '503' }, 'c1', proc).alive, false, 'zombie');
    assert.equal(checkInit({ pid: 999, startTime: '1' }, 'c1', proc).alive, false, 'gone');
  });

  test('findInit picks the init among the monitor\'s children; isMonitor checks the title', () => {
    assert.deepEqual(findInit(100, 'c1', proc), { pid: 102, startTime: '502' });
    assert.equal(findInit(100, 'c2', proc), null);
    assert.equal(findInit(999, 'c1', proc), null);
    assert.equal(isMonitor(100, '/var/lib/lxdts/containers', 'c1', proc), true);
    assert.equal(isMonitor(100, '/var/lib/lxdts/containers', 'c', proc), false);
    assert.equal(isMonitor(100, '/var/lib/lxdts/containers/', 'c1', proc), true, 'the same lxcpath spelt otherwise');
    assert.equal(isMonitor(101, '/var/lib/lxdts/containers', 'c1', proc), false);
  });

  test('freezerState: cgroup v1 freezer.state, v2 cgroup.freeze + cgroup.events', () => {
    const v1 = join(dir, 'freezer');
    mkdirSync(v1, { recursive: true });
    for (const [text, want] of [
      ['FROZEN\n', 'FROZEN'],
      ['FREEZING\n', 'FREEZING'],
      ['THAWED\n', 'THAWED'],
    ] as const) {
      writeFileSync(join(v1, 'freezer.state'), text);
      assert.equal(freezerState(new Map([['freezer', v1]])), want);
    }
    const v2 = join(dir, 'unified');
    mkdirSync(v2, { recursive: true });
    writeFileSync(join(v2, 'cgroup.freeze'), '0\n');
    assert.equal(freezerState(new Map([['unified', v2]])), 'THAWED');
    writeFileSync(join(v2, 'cgroup.freeze'), '1\n');
    writeFileSync(join(v2, 'cgroup.events'), 'populated 1\nfrozen 0\n');
    assert.equal(freezerState(new Map([['unified', v2]])), 'FREEZING');
    writeFileSync(join(v2, 'cgroup.events'), 'populated 1\nfrozen 1\n');
    assert.equal(freezerState(new Map([['unified', v2]])), 'FROZEN');
    assert.equal(freezerState(new Map()), 'THAWED');
  });
});
