// Parsing of LXD's limit values (instance_options.md "Resource limits", instance_units.md). Pure functions.
import { badRequest } from '../errors.js';

const BYTE_UNITS: Record<string, number> = {
  '': 1,
  B: 1,
  bytes: 1,
  ' bytes': 1,
  kB: 1e3,
  MB: 1e6,
  GB: 1e9,
  TB: 1e12,
  PB: 1e15,
  EB: 1e18,
  KiB: 2 ** 10,
  MiB: 2 ** 20,
  GiB: 2 ** 30,
  TiB: 2 ** 40,
  PiB: 2 ** 50,
  EiB: 2 ** 60,
};

/** LXD's units.ParseByteSizeString: an integer and an optional case-sensitive suffix (`64MiB`, `1GB`, `512`). */
export function parseByteSize(value: string): number {
  const m = /^(\d+)(.*)$/.exec(value);
  const unit = m ? BYTE_UNITS[m[2] ?? ''] : undefined;
  if (!m || unit === undefined) throw badRequest(`Invalid value: ${value}`);
  return Number(m[1]) * unit;
}

/** `limits.memory`: bytes with a unit, or a percentage of the host's memory (LXD: total/100*percent). */
export function parseMemoryLimit(value: string, memoryTotal: number): number {
  if (value.endsWith('%')) {
    const pct = value.slice(0, -1);
    if (!/^\d+$/.test(pct)) throw badRequest(`Invalid value for limits.memory: ${value}`);
    return Math.floor(memoryTotal / 100) * Number(pct);
  }
  try {
    return parseByteSize(value);
  } catch {
    throw badRequest(`Invalid value for limits.memory: ${value}`);
  }
}

/** `limits.cpu`: a bare number is a CPU count; `0-3`, `1,3`, `1-1` are explicit CPU sets. */
export type CpuLimit = { kind: 'count'; count: number } | { kind: 'set'; cpus: number[] };

export function parseCpuLimit(value: string): CpuLimit {
  if (/^\d+$/.test(value)) {
    const count = Number(value);
    if (count < 1) throw badRequest(`Invalid value for limits.cpu: ${value}`);
    return { kind: 'count', count };
  }
  const cpus = new Set<number>();
  for (const part of value.split(',')) {
    const range = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!range) throw badRequest(`Invalid value for limits.cpu: ${value}`);
    const from = Number(range[1]);
    const to = range[2] === undefined ? from : Number(range[2]);
    if (to < from) throw badRequest(`Invalid value for limits.cpu: ${value}`);
    for (let c = from; c <= to; c++) cpus.add(c);
  }
  return { kind: 'set', cpus: [...cpus].sort((a, b) => a - b) };
}

/** The CPUs a container is pinned to. A count takes the first online CPUs (LXD rebalances; we don't yet). */
export function pickCpus(limit: CpuLimit, online: readonly number[]): number[] {
  if (limit.kind === 'count') return online.slice(0, Math.min(limit.count, online.length));
  const missing = limit.cpus.filter((c) => !online.includes(c));
  if (missing.length > 0) throw badRequest(`Invalid value for limits.cpu: CPU ${missing.join(',')} is not available`);
  return limit.cpus;
}

/** Kernel cpuset list syntax with ranges compacted: [0,1,2,5] → `0-2,5`. */
export function formatCpuList(cpus: readonly number[]): string {
  const out: string[] = [];
  for (let i = 0; i < cpus.length; ) {
    let j = i;
    while (j + 1 < cpus.length && cpus[j + 1] === (cpus[j] as number) + 1) j++;
    out.push(i === j ? `${cpus[i]}` : `${cpus[i]}-${cpus[j]}`);
    i = j + 1;
  }
  return out.join(',');
}

export interface CpuAllowance {
  /** cgroup v1 cpu.shares (1024 = default, not written). */
  shares: number;
  /** CFS quota and period in µs; null = no hard limit. */
  quotaUs: number | null;
  periodUs: number | null;
}

/**
 * LXD's cgroup.ParseCPU: `limits.cpu.allowance` `50%` is a soft share (under load), `25ms/100ms` a hard CFS
 * quota; `limits.cpu.priority` (0-10, default 10) lowers the share by 10-priority.
 */
export function parseCpuAllowance(allowance: string | undefined, priority: string | undefined, maxShares = 1024): CpuAllowance {
  let shares = 0;
  if (priority !== undefined && priority !== '') {
    if (!/^\d+$/.test(priority) || Number(priority) > 10) throw badRequest(`Invalid value for limits.cpu.priority: ${priority}`);
    shares -= 10 - Number(priority);
  }
  let quotaUs: number | null = null;
  let periodUs: number | null = null;
  if (allowance !== undefined && allowance !== '') {
    if (allowance.endsWith('%')) {
      const pct = allowance.slice(0, -1);
      if (!/^\d+$/.test(pct)) throw badRequest(`Invalid value for limits.cpu.allowance: ${allowance}`);
      shares += Math.trunc((maxShares / 100) * Number(pct));
    } else {
      const m = /^(\d+)ms\/(\d+)ms$/.exec(allowance);
      if (!m) throw badRequest(`Invalid value for limits.cpu.allowance: ${allowance}`);
      quotaUs = Number(m[1]) * 1000;
      periodUs = Number(m[2]) * 1000;
      // The kernel accepts periods of 1 ms..1 s and quotas of at least 1 ms.
      if (periodUs < 1000 || periodUs > 1_000_000 || quotaUs < 1000) {
        throw badRequest(`Invalid value for limits.cpu.allowance: ${allowance}`);
      }
      shares += maxShares;
    }
  } else {
    shares += maxShares;
  }
  return { shares: Math.max(shares, 0), quotaUs, periodUs };
}

/** `limits.processes`: a positive integer. */
export function parseProcessLimit(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1) throw badRequest(`Invalid value for limits.processes: ${value}`);
  return Number(value);
}

/** LXD's shared.IsTrue / IsFalse. */
export const isTrue = (v: string | undefined): boolean => v !== undefined && ['true', '1', 'yes', 'on'].includes(v.toLowerCase());
export const isFalse = (v: string | undefined): boolean => v !== undefined && ['false', '0', 'no', 'off'].includes(v.toLowerCase());
