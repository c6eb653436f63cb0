// System and per-NUMA-node memory from /proc/meminfo, /sys/devices/system/memory and .../node (ResourcesMemory).
import { join } from 'node:path';
import type { ResourcesMemory, ResourcesMemoryNode } from '@lxdts/api-types';
import { listDir, readInt, readText } from './sysfs.js';

export class MemoryReader {
  constructor(private readonly root = '/') {}

  read(): ResourcesMemory {
    const info = parseMeminfo(readText(join(this.root, 'proc/meminfo')));
    const hugeSize = info.get('Hugepagesize') ?? 0;
    const hugeTotal = (info.get('HugePages_Total') ?? 0) * hugeSize;
    const hugeFree = (info.get('HugePages_Free') ?? 0) * hugeSize;
    // Installed memory counts whole online memory blocks; MemTotal lacks what the kernel reserved at boot.
    const total = this.blockBytes(join(this.root, 'sys/devices/system/memory')) || (info.get('MemTotal') ?? 0);
    const reclaimable = (info.get('MemFree') ?? 0) + (info.get('Cached') ?? 0) + (info.get('Buffers') ?? 0);
    const nodes = this.nodes(hugeSize);
    return {
      ...(nodes.length > 0 ? { nodes } : {}),
      hugepages_total: hugeTotal,
      hugepages_used: hugeTotal - hugeFree,
      hugepages_size: hugeSize,
      used: Math.max(total - reclaimable, 0),
      total,
    };
  }

  private nodes(hugeSize: number): ResourcesMemoryNode[] {
    const base = join(this.root, 'sys/devices/system/node');
    return listDir(base)
      .filter((e) => /^node\d+$/.test(e))
      .map((e) => {
        const dir = join(base, e);
        const info = parseMeminfo(readText(join(dir, 'meminfo')));
        const pages = join(dir, 'hugepages', `hugepages-${hugeSize / 1024}kB`);
        const nr = readInt(join(pages, 'nr_hugepages')) ?? 0;
        const free = readInt(join(pages, 'free_hugepages')) ?? 0;
        const memTotal = info.get('MemTotal') ?? 0;
        return {
          numa_node: Number(e.slice(4)),
          hugepages_used: (nr - free) * hugeSize,
          hugepages_total: nr * hugeSize,
          used: info.get('MemUsed') ?? memTotal - (info.get('MemFree') ?? 0),
          total: this.blockBytes(dir) || memTotal,
        };
      })
      .sort((a, b) => a.numa_node - b.numa_node);
  }

  /** Bytes of the online memoryN blocks listed in `dir`; 0 when the kernel has no memory block devices. */
  private blockBytes(dir: string): number {
    const blockSize = readInt(join(this.root, 'sys/devices/system/memory/block_size_bytes'), 16) ?? 0;
    if (blockSize === 0) return 0;
    const online = listDir(dir).filter((e) => /^memory\d+$/.test(e) && readInt(join(dir, e, 'online')) !== 0);
    return online.length * blockSize;
  }
}

/** "/proc/meminfo" or a node's meminfo ("Node 0 MemTotal: 123 kB") -> key -> bytes (page counts stay counts). */
export function parseMeminfo(text: string | undefined): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of (text ?? '').split('\n')) {
    const m = /^(?:Node \d+ )?([^:]+):\s+(\d+)(?:\s+kB)?/.exec(line.trim());
    if (!m) continue;
    out.set(m[1]!, Number(m[2]) * (line.trim().endsWith('kB') ? 1024 : 1));
  }
  return out;
}
