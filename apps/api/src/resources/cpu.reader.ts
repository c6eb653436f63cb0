// CPU topology from /sys/devices/system/cpu (sockets, dies, cores, threads, caches, frequencies) with names and
// vendors from /proc/cpuinfo (ResourcesCPU).
import { machine } from 'node:os';
import { join } from 'node:path';
import type { ResourcesCPU, ResourcesCPUCache, ResourcesCPUCore, ResourcesCPUSocket, ResourcesCPUThread } from '@lxdts/api-types';
import { exists, listDir, parseRangeList, readInt, readText } from './sysfs.js';

interface CpuEntry {
  id: number;
  socket: number;
  die: number;
  core: number;
  /** Position among the core's sibling threads. */
  thread: number;
  online: boolean;
  isolated: boolean;
  numaNode: number;
  /** kHz, as sysfs reports them. */
  curFreq?: number;
  minFreq?: number;
  maxFreq?: number;
}

export class CpuReader {
  constructor(
    private readonly root = '/',
    private readonly architecture = machine(),
  ) {}

  read(): ResourcesCPU {
    const base = join(this.root, 'sys/devices/system/cpu');
    const isolated = new Set(parseRangeList(readText(join(base, 'isolated'))));
    const cpus = listDir(base)
      .filter((e) => /^cpu\d+$/.test(e))
      .map((e) => this.entry(base, Number(e.slice(3)), isolated))
      .sort((a, b) => a.id - b.id);
    const info = this.cpuinfo();

    const sockets = new Map<number, CpuEntry[]>();
    for (const cpu of cpus) sockets.set(cpu.socket, [...(sockets.get(cpu.socket) ?? []), cpu]);

    const out: ResourcesCPUSocket[] = [];
    for (const [socket, members] of [...sockets].sort(([a], [b]) => a - b)) {
      const first = members[0]!;
      const details = info.get(first.id) ?? {};
      const cores = this.cores(members);
      const freqs = cores.map((c) => c.frequency).filter((f): f is number => f !== undefined);
      const cache = this.caches(join(base, `cpu${first.id}`, 'cache'));
      // Key order and omitted empty fields as LXD serialises a socket (wire transcript 20).
      out.push({
        ...(details.name ? { name: details.name } : {}),
        ...(details.vendor ? { vendor: details.vendor } : {}),
        socket,
        ...(cache.length > 0 ? { cache } : {}),
        cores,
        ...(freqs.length > 0 ? { frequency: Math.round(freqs.reduce((a, b) => a + b, 0) / freqs.length) } : {}),
        ...(first.minFreq ? { frequency_minimum: Math.round(first.minFreq / 1000) } : {}),
        ...(first.maxFreq ? { frequency_turbo: Math.round(first.maxFreq / 1000) } : {}),
      });
    }
    return { architecture: this.architecture, sockets: out, total: cpus.length };
  }

  private entry(base: string, id: number, isolated: Set<number>): CpuEntry {
    const dir = join(base, `cpu${id}`);
    const topo = join(dir, 'topology');
    const siblings = parseRangeList(readText(join(topo, 'thread_siblings_list')));
    const node = listDir(dir).find((e) => /^node\d+$/.test(e));
    const entry: CpuEntry = {
      id,
      socket: Math.max(readInt(join(topo, 'physical_package_id')) ?? 0, 0),
      die: Math.max(readInt(join(topo, 'die_id')) ?? 0, 0),
      core: readInt(join(topo, 'core_id')) ?? id,
      thread: Math.max(siblings.indexOf(id), 0),
      // cpu0 usually has no `online` file: it cannot go offline.
      online: exists(join(dir, 'online')) ? readInt(join(dir, 'online')) === 1 : true,
      isolated: isolated.has(id),
      numaNode: node ? Number(node.slice(4)) : 0,
    };
    const freq = join(dir, 'cpufreq');
    const cur = readInt(join(freq, 'scaling_cur_freq'));
    const min = readInt(join(freq, 'cpuinfo_min_freq'));
    const max = readInt(join(freq, 'cpuinfo_max_freq'));
    if (cur) entry.curFreq = cur;
    if (min) entry.minFreq = min;
    if (max) entry.maxFreq = max;
    return entry;
  }

  private cores(members: CpuEntry[]): ResourcesCPUCore[] {
    const byCore = new Map<string, CpuEntry[]>();
    for (const cpu of members) {
      const key = `${cpu.die}:${cpu.core}`;
      byCore.set(key, [...(byCore.get(key) ?? []), cpu]);
    }
    return [...byCore.values()]
      .map((threads) => {
        const first = threads[0]!;
        const core: ResourcesCPUCore = {
          core: first.core,
          die: first.die,
          threads: threads
            .sort((a, b) => a.id - b.id)
            .map((t): ResourcesCPUThread => ({ id: t.id, numa_node: t.numaNode, thread: t.thread, online: t.online, isolated: t.isolated })),
        };
        if (first.curFreq) core.frequency = Math.round(first.curFreq / 1000);
        return core;
      })
      .sort((a, b) => a.die - b.die || a.core - b.core);
  }

  private caches(dir: string): ResourcesCPUCache[] {
    return listDir(dir)
      .filter((e) => /^index\d+$/.test(e))
      .map((e) => ({
        level: readInt(join(dir, e, 'level')) ?? 0,
        type: readText(join(dir, e, 'type')) ?? '',
        size: parseCacheSize(readText(join(dir, e, 'size'))),
      }))
      .filter((c) => c.level > 0)
      .sort((a, b) => a.level - b.level || a.type.localeCompare(b.type));
  }

  /** processor number -> model name and vendor (x86 "model name"/"vendor_id"; other architectures may lack them). */
  private cpuinfo(): Map<number, { name?: string; vendor?: string }> {
    const out = new Map<number, { name?: string; vendor?: string }>();
    for (const block of (readText(join(this.root, 'proc/cpuinfo')) ?? '').split(/\n\s*\n/)) {
      const fields = new Map<string, string>();
      for (const line of block.split('\n')) {
        const i = line.indexOf(':');
        if (i > 0) fields.set(line.slice(0, i).trim(), line.slice(i + 1).trim());
      }
      const processor = fields.get('processor');
      if (processor === undefined || !/^\d+$/.test(processor)) continue;
      const name = fields.get('model name') ?? fields.get('cpu model');
      const vendor = fields.get('vendor_id') ?? fields.get('vendor');
      out.set(Number(processor), { ...(name ? { name } : {}), ...(vendor ? { vendor } : {}) });
    }
    return out;
  }
}

/** "32K", "1024K", "32768K", "2M" -> bytes. */
export function parseCacheSize(text: string | undefined): number {
  const m = /^(\d+)\s*([KMG]?)/i.exec(text ?? '');
  if (!m) return 0;
  const unit = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 }[m[2]!.toUpperCase() as '' | 'K' | 'M' | 'G'];
  return Number(m[1]) * unit;
}
