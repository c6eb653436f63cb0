// LXD's architecture ids (images.architecture, nodes.arch) and the names and aliases metadata.yaml may use.
import { badRequest } from '../http/api-error.js';

const NAMES: Readonly<Record<number, string>> = {
  1: 'i686',
  2: 'x86_64',
  3: 'armv7l',
  4: 'aarch64',
  5: 'ppc',
  6: 'ppc64',
  7: 'ppc64le',
  8: 's390x',
  9: 'mips',
  10: 'mipsle',
  11: 'mips64',
  12: 'mips64le',
  13: 'riscv32',
  14: 'riscv64',
};

const ALIASES: Readonly<Record<number, readonly string[]>> = {
  1: ['i386', 'i586', '386', 'x86', 'generic_32'],
  2: ['amd64', 'generic_64'],
  3: ['armel', 'armhf', 'arm', 'armhfp', 'armv7a_hardfp', 'armv7', 'armv7a_vfpv3_hardfp'],
  4: ['arm64', 'arm64_generic'],
  5: ['powerpc'],
  6: ['powerpc64'],
  7: ['ppc64el'],
};

/** The id of an architecture name or alias; unknown names are a 400 with LXD's message. */
export function architectureId(name: string): number {
  for (const [id, n] of Object.entries(NAMES)) if (n === name) return Number(id);
  for (const [id, aliases] of Object.entries(ALIASES)) if (aliases.includes(name)) return Number(id);
  throw badRequest(`Architecture isn't supported: ${name}`);
}

/** The canonical name of an id; "unknown" for ids LXD does not know either. */
export function architectureName(id: number): string {
  return NAMES[id] ?? 'unknown';
}
