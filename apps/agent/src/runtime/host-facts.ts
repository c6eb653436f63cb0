// Reads the host facts the config builder needs, once per agent start.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { totalmem } from 'node:os';
import { type HostFacts, OPTIONAL_BIND_MOUNTS } from './lxc-config.builder.js';

/** `0-3,6` → [0,1,2,3,6] (the kernel's cpu list format). */
export function parseCpuList(text: string): number[] {
  const cpus: number[] = [];
  for (const part of text.trim().split(',')) {
    if (!part) continue;
    const [a, b] = part.split('-').map(Number);
    if (a === undefined || Number.isNaN(a)) continue;
    for (let c = a; c <= (b ?? a); c++) cpus.push(c);
  }
  return cpus;
}

export function readHostFacts(): HostFacts {
  const v2 = existsSync('/sys/fs/cgroup/cgroup.controllers');
  let onlineCpus: number[];
  try {
    onlineCpus = parseCpuList(readFileSync('/sys/devices/system/cpu/online', 'utf8'));
  } catch {
    onlineCpus = [0];
  }
  const bindMounts: HostFacts['bindMounts'] = [];
  for (const path of OPTIONAL_BIND_MOUNTS) {
    try {
      bindMounts.push({ path, isDir: statSync(path).isDirectory() });
    } catch {
      // Absent on this host: not passed in.
    }
  }
  return {
    cgroupLayout: v2 ? 'v2' : 'v1',
    onlineCpus,
    memoryTotal: totalmem(),
    memswAvailable: !v2 && existsSync('/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes'),
    bindMounts,
  };
}
