// Tolerant readers for /proc and /sys files: a missing or unreadable file is `undefined`, never an exception, since
// what exists there varies by kernel, hardware and virtualisation.
import { existsSync, readFileSync, readdirSync, readlinkSync, realpathSync } from 'node:fs';
import { basename } from 'node:path';

export function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

export function readInt(path: string, radix = 10): number | undefined {
  const text = readText(path);
  if (text === undefined || text === '') return undefined;
  const n = Number.parseInt(text, radix);
  return Number.isFinite(n) ? n : undefined;
}

/** Entries of a directory, sorted; [] when it does not exist. */
export function listDir(path: string): string[] {
  try {
    return readdirSync(path).sort();
  } catch {
    return [];
  }
}

export const exists = (path: string): boolean => existsSync(path);

/** The last element of a symlink's target, e.g. the driver name of `device/driver`. */
export function linkName(path: string): string | undefined {
  try {
    return basename(readlinkSync(path));
  } catch {
    return undefined;
  }
}

export function realPath(path: string): string | undefined {
  try {
    return realpathSync(path);
  } catch {
    return undefined;
  }
}

/** Kernel CPU/node lists such as "0-3,8,10-11". */
export function parseRangeList(text: string | undefined): number[] {
  const out: number[] = [];
  for (const part of (text ?? '').split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) continue;
    const from = Number(m[1]);
    const to = m[2] !== undefined ? Number(m[2]) : from;
    for (let i = from; i <= to; i++) out.push(i);
  }
  return out;
}

/** "0x1af4" -> "1af4" (PCI/USB ids as LXD shows them). */
export const hexId = (text: string | undefined): string => (text ?? '').replace(/^0x/, '').padStart(4, '0');

/** The last PCI address ("0000:00:02.0") in a device path, '' if none. */
export function pciAddressOf(path: string | undefined): string {
  const all = (path ?? '').match(/[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-9a-f]/g);
  return all?.[all.length - 1] ?? '';
}
