// Reads a running container's usage the way LXD reports it (InstanceState): cgroup counters for cpu, memory and
// processes, and the interfaces of its network namespace (`ip -j`, seen from inside, as LXD's forknet does; the
// runtime reads the same from /proc first, proc-net.ts, and runs `ip` only when that can't tell).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { InstanceStateNetwork } from '@lxdts/api-types';
import type { ProcessRunner } from '../process/run.js';

export interface UsageCounters {
  cpu: { usage: number };
  memory: { usage: number; usage_peak: number; swap_usage: number; swap_usage_peak: number };
  processes: number;
}

/** `/proc/<pid>/cgroup` → controller (or `unified`) → cgroup directory under /sys/fs/cgroup. */
export function parseProcCgroup(text: string, root = '/sys/fs/cgroup', pureV2 = false): Map<string, string> {
  const dirs = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^(\d+):([^:]*):(.*)$/.exec(line.trim());
    if (!m) continue;
    const controllers = m[2] ?? '';
    const path = m[3] ?? '/';
    if (m[1] === '0' && controllers === '') {
      dirs.set('unified', join(pureV2 ? root : join(root, 'unified'), path));
      continue;
    }
    const mount = controllers.startsWith('name=') ? controllers.slice(5) : controllers;
    for (const ctl of controllers.split(',')) dirs.set(ctl, join(root, mount, path));
  }
  return dirs;
}

const readNumber = (file: string): number | null => {
  try {
    const n = Number(readFileSync(file, 'utf8').trim());
    return Number.isFinite(n) ? n : null;
  } catch {
    return null;
  }
};

const readKey = (file: string, key: string): number | null => {
  try {
    const line = readFileSync(file, 'utf8')
      .split('\n')
      .find((l) => l.startsWith(`${key} `));
    return line ? Number(line.split(' ')[1]) : null;
  } catch {
    return null;
  }
};

const noUsage = (): UsageCounters => ({ cpu: { usage: 0 }, memory: { usage: 0, usage_peak: 0, swap_usage: 0, swap_usage_peak: 0 }, processes: 0 });

/** cpu (ns), memory (bytes) and process counters of the container whose init is `pid`; zeros when unreadable. */
export function readUsage(pid: number): UsageCounters {
  let text = '';
  try {
    text = readFileSync(`/proc/${pid}/cgroup`, 'utf8');
  } catch {
    return noUsage();
  }
  const pureV2 = existsSync('/sys/fs/cgroup/cgroup.controllers');
  return readUsageFrom(parseProcCgroup(text, '/sys/fs/cgroup', pureV2));
}

/** The same counters from known cgroup directories (controller or `unified` → directory, as parseProcCgroup). */
export function readUsageFrom(dirs: ReadonlyMap<string, string>): UsageCounters {
  const v1 = (ctl: string, file: string) => {
    const dir = dirs.get(ctl);
    return dir ? readNumber(join(dir, file)) : null;
  };
  const unified = dirs.get('unified');
  const v2 = (file: string) => (unified ? readNumber(join(unified, file)) : null);

  const cpuNs = v1('cpuacct', 'cpuacct.usage') ?? (unified ? (readKey(join(unified, 'cpu.stat'), 'usage_usec') ?? 0) * 1000 : 0);

  let usage = v1('memory', 'memory.usage_in_bytes');
  let peak = v1('memory', 'memory.max_usage_in_bytes');
  let swap = 0;
  let swapPeak = 0;
  if (usage !== null) {
    const memsw = v1('memory', 'memory.memsw.usage_in_bytes');
    const memswPeak = v1('memory', 'memory.memsw.max_usage_in_bytes');
    if (memsw !== null) swap = Math.max(memsw - usage, 0);
    if (memswPeak !== null && peak !== null) swapPeak = Math.max(memswPeak - peak, 0);
  } else {
    usage = v2('memory.current');
    peak = v2('memory.peak');
    swap = v2('memory.swap.current') ?? 0;
    swapPeak = v2('memory.swap.peak') ?? 0;
  }

  const processes = v1('pids', 'pids.current') ?? v2('pids.current') ?? 0;
  return {
    cpu: { usage: cpuNs },
    memory: { usage: usage ?? 0, usage_peak: peak ?? 0, swap_usage: swap, swap_usage_peak: swapPeak },
    processes,
  };
}

/** The subset of `ip -d -j -s addr show` output the state needs. */
export interface IpLink {
  ifindex: number;
  ifname: string;
  flags?: string[];
  mtu?: number;
  link_type?: string;
  address?: string;
  link_index?: number;
  link_netnsid?: number;
  linkinfo?: { info_kind?: string };
  addr_info?: { family?: string; local?: string; prefixlen?: number; scope?: string }[];
  stats64?: {
    rx?: { bytes?: number; packets?: number; errors?: number; dropped?: number };
    tx?: { bytes?: number; packets?: number; errors?: number; dropped?: number };
  };
}

/**
 * LXD's network section from the container's own view of its links. `hostNames` maps host ifindex → name, for
 * the host side of veth pairs (`host_name`).
 */
export function networkState(links: readonly IpLink[], hostNames: ReadonlyMap<number, string>): Record<string, InstanceStateNetwork> {
  const out: Record<string, InstanceStateNetwork> = {};
  for (const l of links) {
    const flags = l.flags ?? [];
    const loopback = l.link_type === 'loopback' || flags.includes('LOOPBACK');
    const isVethPeer = l.linkinfo?.info_kind === 'veth' && l.link_netnsid !== undefined && l.link_index !== undefined;
    out[l.ifname] = {
      addresses: (l.addr_info ?? [])
        .filter((a) => a.local !== undefined && (a.family === 'inet' || a.family === 'inet6'))
        .map((a) => ({
          family: a.family ?? '',
          address: a.local ?? '',
          netmask: String(a.prefixlen ?? ''),
          scope: a.scope === 'host' ? 'local' : (a.scope ?? ''),
        })),
      counters: {
        bytes_received: l.stats64?.rx?.bytes ?? 0,
        bytes_sent: l.stats64?.tx?.bytes ?? 0,
        packets_received: l.stats64?.rx?.packets ?? 0,
        packets_sent: l.stats64?.tx?.packets ?? 0,
        errors_received: l.stats64?.rx?.errors ?? 0,
        errors_sent: l.stats64?.tx?.errors ?? 0,
        packets_dropped_outbound: l.stats64?.tx?.dropped ?? 0,
        packets_dropped_inbound: l.stats64?.rx?.dropped ?? 0,
      },
      hwaddr: loopback ? '' : (l.address ?? ''),
      host_name: isVethPeer ? (hostNames.get(l.link_index as number) ?? '') : '',
      mtu: l.mtu ?? 0,
      state: flags.includes('UP') ? 'up' : 'down',
      type: loopback ? 'loopback' : flags.includes('POINTOPOINT') ? 'point-to-point' : flags.includes('BROADCAST') ? 'broadcast' : 'unknown',
    };
  }
  return out;
}

/** Runs `ip` inside the container's network namespace and on the host; null when it cannot be read. */
export async function readNetwork(runner: ProcessRunner, pid: number): Promise<Record<string, InstanceStateNetwork> | null> {
  const inside = await runner.tryRun('nsenter', ['-t', String(pid), '-n', 'ip', '-d', '-j', '-s', 'addr', 'show'], { timeoutMs: 10_000 });
  if (inside.exitCode !== 0) return null;
  let links: IpLink[];
  try {
    links = JSON.parse(inside.stdout) as IpLink[];
  } catch {
    return null;
  }
  const hostNames = new Map<number, string>();
  if (links.some((l) => l.linkinfo?.info_kind === 'veth')) {
    const host = await runner.tryRun('ip', ['-j', 'link', 'show'], { timeoutMs: 10_000 });
    try {
      for (const l of JSON.parse(host.stdout) as IpLink[]) hostNames.set(l.ifindex, l.ifname);
    } catch {
      // No host names then.
    }
  }
  return networkState(links, hostNames);
}
