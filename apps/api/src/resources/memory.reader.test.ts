import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fixtureTree } from './fixture-tree.js';
import { MemoryReader, parseMeminfo } from './memory.reader.js';

const MEMINFO = `MemTotal:        3900000 kB
MemFree:         2000000 kB
Buffers:          100000 kB
Cached:           500000 kB
HugePages_Total:       4
HugePages_Free:        1
Hugepagesize:       2048 kB
`;

test('memory reader counts online memory blocks, used memory and huge pages', () => {
  const tree = fixtureTree({
    'proc/meminfo': MEMINFO,
    'sys/devices/system/memory/block_size_bytes': '40000000\n', // 1 GiB
    'sys/devices/system/memory/memory0/online': '1',
    'sys/devices/system/memory/memory1/online': '1',
    'sys/devices/system/memory/memory2/online': '1',
    'sys/devices/system/memory/memory3/online': '1',
    'sys/devices/system/memory/memory4/online': '0',
    'sys/devices/system/node/node0/memory0': { link: '../../memory/memory0' },
    'sys/devices/system/node/node0/memory1': { link: '../../memory/memory1' },
    'sys/devices/system/node/node0/meminfo': 'Node 0 MemTotal:  3900000 kB\nNode 0 MemFree: 2000000 kB\nNode 0 MemUsed: 1900000 kB\n',
    'sys/devices/system/node/node0/hugepages/hugepages-2048kB/nr_hugepages': '4',
    'sys/devices/system/node/node0/hugepages/hugepages-2048kB/free_hugepages': '1',
  });
  try {
    const mem = new MemoryReader(tree.root).read();
    const total = 4 * 1024 ** 3;
    assert.equal(mem.total, total);
    assert.equal(mem.used, total - (2000000 + 100000 + 500000) * 1024);
    assert.equal(mem.hugepages_size, 2097152);
    assert.equal(mem.hugepages_total, 4 * 2097152);
    assert.equal(mem.hugepages_used, 3 * 2097152);
    assert.deepEqual(mem.nodes, [
      { numa_node: 0, hugepages_used: 3 * 2097152, hugepages_total: 4 * 2097152, used: 1900000 * 1024, total: 2 * 1024 ** 3 },
    ]);
  } finally {
    tree.remove();
  }
});

test('memory reader falls back to MemTotal without memory block devices', () => {
  const tree = fixtureTree({ 'proc/meminfo': MEMINFO });
  try {
    const mem = new MemoryReader(tree.root).read();
    assert.equal(mem.total, 3900000 * 1024);
    assert.equal(mem.nodes, undefined);
  } finally {
    tree.remove();
  }
});

test('meminfo values in kB become bytes, page counts stay counts', () => {
  const info = parseMeminfo('MemTotal: 10 kB\nHugePages_Total: 3\nNode 1 MemUsed: 2 kB\n');
  assert.equal(info.get('MemTotal'), 10240);
  assert.equal(info.get('HugePages_Total'), 3);
  assert.equal(info.get('MemUsed'), 2048);
});
