import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CpuReader, parseCacheSize } from './cpu.reader.js';
import { type FixtureEntry, fixtureTree } from './fixture-tree.js';

/** One socket, two cores with two threads each (cpu0+cpu2 on core 0, cpu1+cpu3 on core 1); cpu3 offline. */
function cpuFixture(): Record<string, FixtureEntry> {
  const entries: Record<string, FixtureEntry> = {
    'sys/devices/system/cpu/isolated': '1\n',
    'proc/cpuinfo': [0, 1, 2, 3]
      .map((n) => `processor\t: ${n}\nvendor_id\t: GenuineIntel\nmodel name\t: Test CPU @ 2.00GHz\nphysical id\t: 0\n`)
      .join('\n'),
  };
  for (const n of [0, 1, 2, 3]) {
    const dir = `sys/devices/system/cpu/cpu${n}`;
    const core = n % 2;
    entries[`${dir}/topology/physical_package_id`] = '0\n';
    entries[`${dir}/topology/die_id`] = '0\n';
    entries[`${dir}/topology/core_id`] = `${core}\n`;
    entries[`${dir}/topology/thread_siblings_list`] = core === 0 ? '0,2\n' : '1,3\n';
    entries[`${dir}/node0`] = { dir: true };
    entries[`${dir}/cpufreq/scaling_cur_freq`] = `${2000000 + n * 1000}\n`;
    entries[`${dir}/cpufreq/cpuinfo_min_freq`] = '800000\n';
    entries[`${dir}/cpufreq/cpuinfo_max_freq`] = '3500000\n';
    if (n > 0) entries[`${dir}/online`] = n === 3 ? '0\n' : '1\n';
  }
  entries['sys/devices/system/cpu/cpu0/cache/index0/level'] = '1';
  entries['sys/devices/system/cpu/cpu0/cache/index0/type'] = 'Data';
  entries['sys/devices/system/cpu/cpu0/cache/index0/size'] = '48K';
  entries['sys/devices/system/cpu/cpu0/cache/index2/level'] = '2';
  entries['sys/devices/system/cpu/cpu0/cache/index2/type'] = 'Unified';
  entries['sys/devices/system/cpu/cpu0/cache/index2/size'] = '2048K';
  entries['sys/devices/system/cpu/cpufreq'] = { dir: true };
  return entries;
}

test('cpu reader builds sockets, cores and threads from sysfs topology', () => {
  const tree = fixtureTree(cpuFixture());
  try {
    const cpu = new CpuReader(tree.root, 'x86_64').read();
    assert.equal(cpu.architecture, 'x86_64');
    assert.equal(cpu.total, 4);
    assert.equal(cpu.sockets.length, 1);
    const socket = cpu.sockets[0]!;
    assert.equal(socket.name, 'Test CPU @ 2.00GHz');
    assert.equal(socket.vendor, 'GenuineIntel');
    assert.deepEqual(socket.cache, [
      { level: 1, type: 'Data', size: 49152 },
      { level: 2, type: 'Unified', size: 2097152 },
    ]);
    assert.equal(socket.frequency_minimum, 800);
    assert.equal(socket.frequency_turbo, 3500);
    assert.equal(socket.frequency, 2001); // average of the cores' first threads (2000 and 2001 MHz)
    assert.deepEqual(
      socket.cores.map((c) => ({ core: c.core, threads: c.threads.map((t) => [t.id, t.thread, t.online, t.isolated]) })),
      [
        { core: 0, threads: [[0, 0, true, false], [2, 1, true, false]] },
        { core: 1, threads: [[1, 0, true, true], [3, 1, false, false]] },
      ],
    );
    assert.deepEqual(Object.keys(socket), ['name', 'vendor', 'socket', 'cache', 'cores', 'frequency', 'frequency_minimum', 'frequency_turbo']);
  } finally {
    tree.remove();
  }
});

test('cpu reader omits names, caches and frequencies it cannot find', () => {
  const tree = fixtureTree({
    'sys/devices/system/cpu/cpu0/topology/core_id': '0',
    'sys/devices/system/cpu/cpu0/topology/physical_package_id': '0',
  });
  try {
    const cpu = new CpuReader(tree.root, 'aarch64').read();
    assert.deepEqual(cpu.sockets, [
      { socket: 0, cores: [{ core: 0, die: 0, threads: [{ id: 0, numa_node: 0, thread: 0, online: true, isolated: false }] }] },
    ]);
  } finally {
    tree.remove();
  }
});

test('cache sizes parse K and M suffixes', () => {
  assert.equal(parseCacheSize('32K'), 32768);
  assert.equal(parseCacheSize('32768K'), 33554432);
  assert.equal(parseCacheSize('2M'), 2097152);
  assert.equal(parseCacheSize(undefined), 0);
});
