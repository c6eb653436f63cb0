// Value validators for config maps (instance, profile, project, device options). Each returns LXD's error message
// for a bad value, or null. Messages follow LXD 5.0.2's shared/validate package so clients see familiar errors.
import { isIP } from 'node:net';
import { parse as parseYaml } from 'yaml';

export type Validator = (value: string) => string | null;

const TRUE_WORDS = new Set(['true', '1', 'yes', 'on']);
const FALSE_WORDS = new Set(['false', '0', 'no', 'off']);

/** LXD's shared.IsTrue. */
export const isTrue = (v: string | undefined): boolean => v !== undefined && TRUE_WORDS.has(v.toLowerCase());
/** LXD's shared.IsFalse (an empty value is neither true nor false). */
export const isFalse = (v: string | undefined): boolean => v !== undefined && FALSE_WORDS.has(v.toLowerCase());
export const isFalseOrEmpty = (v: string | undefined): boolean => v === undefined || v === '' || isFalse(v);

/** Skips the check for an empty value (validate.Optional). */
export const optional =
  (...validators: Validator[]): Validator =>
  (v) => {
    if (v === '') return null;
    for (const check of validators) {
      const problem = check(v);
      if (problem) return problem;
    }
    return null;
  };

/** Fails on an empty value (validate.Required). */
export const required =
  (...validators: Validator[]): Validator =>
  (v) => {
    if (v === '') return 'Required value';
    for (const check of validators) {
      const problem = check(v);
      if (problem) return problem;
    }
    return null;
  };

export const isAny: Validator = () => null;

export const isBool: Validator = (v) =>
  TRUE_WORDS.has(v.toLowerCase()) || FALSE_WORDS.has(v.toLowerCase()) ? null : `Invalid value for a boolean "${v}"`;

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** Go's strconv.ParseInt(v, 10, 64), or null. */
export function parseInt64(v: string): bigint | null {
  if (!/^[+-]?\d+$/.test(v)) return null;
  const n = BigInt(v);
  return n < INT64_MIN || n > INT64_MAX ? null : n;
}

export const isInt64: Validator = (v) => (parseInt64(v) === null ? `Invalid value for an integer "${v}"` : null);

export const isUint32: Validator = (v) => {
  if (!/^\d+$/.test(v)) return `Invalid value for uint32 "${v}": strconv.ParseUint: parsing "${v}": invalid syntax`;
  if (BigInt(v) > 0xffffffffn) return `Invalid value for uint32 "${v}": strconv.ParseUint: parsing "${v}": value out of range`;
  return null;
};

export const isPriority: Validator = (v) => {
  const n = parseInt64(v);
  if (n === null) return `Invalid value for an integer "${v}"`;
  return n < 0n || n > 10n ? `Invalid value for a limit "${v}". Must be between 0 and 10` : null;
};

export const isOneOf =
  (...values: string[]): Validator =>
  (v) =>
    values.includes(v) ? null : `Invalid value "${v}" (not one of [${values.join(' ')}])`;

const BYTE_UNITS: Record<string, bigint> = {
  '': 1n,
  B: 1n,
  ' bytes': 1n,
  kB: 1000n,
  MB: 1000n ** 2n,
  GB: 1000n ** 3n,
  TB: 1000n ** 4n,
  PB: 1000n ** 5n,
  EB: 1000n ** 6n,
  KiB: 1024n,
  MiB: 1024n ** 2n,
  GiB: 1024n ** 3n,
  TiB: 1024n ** 4n,
  PiB: 1024n ** 5n,
  EiB: 1024n ** 6n,
};

/** LXD's units.ParseByteSizeString: an integer and an optional unit ("512MB", "2GiB", "1024"). Throws LXD's message. */
export function parseByteSize(input: string): number {
  if (input === '') return 0;
  const m = /^(\d*)(.*)$/s.exec(input)!;
  const digits = m[1]!;
  const suffix = m[2]!;
  if (digits === '') throw new Error(`Invalid value: ${input}`);
  const value = parseInt64(digits);
  if (value === null) throw new Error(`Invalid integer: ${input}`);
  const mult = BYTE_UNITS[suffix];
  if (mult === undefined) throw new Error(`Invalid value: ${input}`);
  const result = value * mult;
  if (result > INT64_MAX) throw new Error(`Overflow multiplying ${value} with ${mult}`);
  return Number(result);
}

export const isSize: Validator = (v) => {
  try {
    parseByteSize(v);
    return null;
  } catch (err) {
    return (err as Error).message;
  }
};

/** Comma separated list, each item checked (validate.IsListOf). */
export const isListOf =
  (item: Validator): Validator =>
  (v) => {
    for (const raw of v.split(',')) {
      const entry = raw.trim();
      const problem = item(entry);
      if (problem) return `Item "${entry}": ${problem}`;
    }
    return null;
  };

/** "N" or "START-END" uint32 range. */
export const isUint32Range: Validator = (v) => {
  const parts = v.split('-');
  if (parts.length > 2) return 'Range must contain a single number or start and end numbers';
  const [start, end] = parts;
  if (!/^\d+$/.test(start!) || BigInt(start!) > 0xffffffffn) return `Invalid number "${v}"`;
  if (end !== undefined) {
    if (!/^\d+$/.test(end) || BigInt(end) > 0xffffffffn) return `Invalid end number "${v}"`;
    if (BigInt(start!) > BigInt(end)) return `Start number ${start} must be lower than end number ${end}`;
  }
  return null;
};

export const isAbsFilePath: Validator = (v) => (v.startsWith('/') ? null : 'Must be absolute file path');

/** CPU set or count: "2", "0-3", "0,2-4". */
export const isCpuSet: Validator = (v) => {
  if (!/^([0-9]+([,-][0-9]+)?)(,[0-9]+([,-][0-9]+)*)?$/.test(v)) return 'Invalid CPU limit syntax';
  const seen = new Map<number, number>();
  for (const chunk of v.split(',')) {
    const [low, high] = chunk.split('-').map(Number) as [number, number | undefined];
    for (let i = low; i <= (high ?? low); i++) seen.set(i, (seen.get(i) ?? 0) + 1);
  }
  for (const count of seen.values()) if (count > 1) return 'Cannot define CPU multiple times';
  return null;
};

/** "50%" or "10ms/100ms" (limits.cpu.allowance). */
export const isCpuAllowance: Validator = (v) => {
  if (v.endsWith('%')) return /^\d+$/.test(v.slice(0, -1)) ? null : `strconv.Atoi: parsing "${v.slice(0, -1)}": invalid syntax`;
  const fields = v.split('/');
  if (fields.length !== 2) return `Invalid allowance: ${v}`;
  for (const f of fields) {
    const n = f.endsWith('ms') ? f.slice(0, -2) : f;
    if (!/^[+-]?\d+$/.test(n)) return `strconv.Atoi: parsing "${n}": invalid syntax`;
  }
  return null;
};

/** limits.memory: a size or a non-zero percentage. */
export const isMemoryLimit: Validator = (v) => {
  if (v.endsWith('%')) {
    const n = parseInt64(v.slice(0, -1));
    if (n === null) return `strconv.ParseInt: parsing "${v.slice(0, -1)}": invalid syntax`;
    return n === 0n ? "Memory limit can't be 0%" : null;
  }
  try {
    return parseByteSize(v) === 0 ? "Memory limit can't be 0" : null;
  } catch (err) {
    return (err as Error).message;
  }
};

const CRON_RANGES: readonly [number, number, Record<string, number>?][] = [
  [0, 59],
  [0, 23],
  [1, 31],
  [1, 12, { jan: 1, feb: 2, mar: 3, apr: 4, may: 5, jun: 6, jul: 7, aug: 8, sep: 9, oct: 10, nov: 11, dec: 12 }],
  [0, 6, { sun: 0, mon: 1, tue: 2, wed: 3, thu: 4, fri: 5, sat: 6 }],
];

function cronFieldProblem(field: string, [min, max, names]: (typeof CRON_RANGES)[number]): string | null {
  const num = (s: string): number | null => {
    if (names && names[s.toLowerCase()] !== undefined) return names[s.toLowerCase()]!;
    return /^\d+$/.test(s) ? Number(s) : null;
  };
  for (const part of field.split(',')) {
    const [range, step, extra] = part.split('/');
    if (extra !== undefined || (step !== undefined && !/^\d+$/.test(step))) return `invalid step in "${part}"`;
    if (range === '*' || range === '?') continue;
    const [a, b, c] = range!.split('-');
    const lo = num(a!);
    const hi = b === undefined ? lo : num(b);
    if (c !== undefined || lo === null || hi === null) return `failed to parse "${part}"`;
    if (lo < min || hi > max || lo > hi) return `"${part}" out of range (${min}-${max})`;
  }
  return null;
}

/** A five-field cron pattern or one of the aliases; several can be joined with ", ". */
export const isCron =
  (aliases: readonly string[]): Validator =>
  (value) => {
    for (const trigger of value.toLowerCase().split(', ')) {
      if (aliases.includes(trigger)) continue;
      const fields = trigger.split(' ');
      if (fields.length !== 5) return 'Schedule must be of the form: <minute> <hour> <day-of-month> <month> <day-of-week>';
      for (let i = 0; i < 5; i++) {
        const problem = cronFieldProblem(fields[i]!, CRON_RANGES[i]!);
        if (problem) return `Error parsing schedule: ${problem}`;
      }
    }
    return null;
  };

/** Snapshot expiry: space separated "<n><unit>" with units S M H d w m y, each unit at most once. */
export const isExpiry: Validator = (v) => {
  const expr = v.trim();
  if (expr === '') return null;
  const seen = new Set<string>();
  for (const part of expr.split(' ')) {
    const m = /^(\d+)([SMHdwmy])$/.exec(part);
    if (!m || seen.has(m[2]!)) return 'Invalid expiry expression';
    if (Number(m[1]) > 0) seen.add(m[2]!);
  }
  return null;
};

export const isYaml: Validator = (v) => {
  try {
    parseYaml(v);
    return null;
  } catch (err) {
    return (err as Error).message.split('\n')[0] ?? 'Invalid YAML';
  }
};

/** cloud-config user data must be YAML; other user-data formats are passed through. */
export const isCloudInitUserData: Validator = (v) => {
  if (v === '#cloud-config') return null;
  if (v.startsWith('#cloud-config\n')) return isYaml(v.slice('#cloud-config\n'.length));
  return null;
};

const COMPRESSORS = new Set(['bzip2', 'gzip', 'lzma', 'xz', 'zstd', 'lz4', 'squashfs']);

/** "none" or a known compressor, optionally with arguments ("xz -9"). */
export const isCompressionAlgorithm: Validator = (v) => {
  if (v === 'none') return null;
  const command = v.trim().split(/\s+/)[0] ?? '';
  if (command === '') return 'exec: no command';
  return COMPRESSORS.has(command) ? null : `exec: "${command}": executable file not found in $PATH`;
};

export const ARCHITECTURES = [
  'i686',
  'x86_64',
  'armv6l',
  'armv7l',
  'armv8l',
  'aarch64',
  'ppc',
  'ppc64',
  'ppc64le',
  's390x',
  'mips',
  'mips64',
  'riscv32',
  'riscv64',
] as const;

export const isArchitecture: Validator = isOneOf(...ARCHITECTURES);

export const isNetworkMAC: Validator = (v) =>
  /^([0-9a-fA-F]{2}[:-]){5}[0-9a-fA-F]{2}$/.test(v) ? null : 'Invalid MAC address, must be 6 bytes of hex separated by colons';

export const isNetworkMTU: Validator = (v) => {
  if (!/^\d+$/.test(v)) return `Invalid MTU "${v}"`;
  const n = Number(v);
  return n < 1280 || n > 16384 ? `Out of MTU range (1280-16384) "${v}"` : null;
};

export const isNetworkVLAN: Validator = (v) => {
  if (!/^-?\d+$/.test(v)) return `Invalid VLAN ID "${v}"`;
  const n = Number(v);
  return n < 0 || n > 4094 ? `Out of VLAN ID range (0-4094) "${v}"` : null;
};

export const isInterfaceName: Validator = (v) => {
  if (v.length < 2) return 'Network interface is too short (minimum 2 characters)';
  if (v.length > 15) return 'Network interface is too long (maximum 15 characters)';
  return /^[A-Za-z0-9._@-]+$/.test(v) && !v.includes('/') ? null : 'Network interface contains invalid characters';
};

export const isDeviceId: Validator = (v) => (/^[0-9a-f]{4}$/.test(v) ? null : 'Invalid value, must be four lower case hex characters');

export const isPciAddress: Validator = (v) =>
  /^([0-9a-fA-F]{4}:)?[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-9a-fA-F]$/.test(v) ? null : 'Invalid PCI address';

/** "<ip>/<prefix>" with the host bits zero. */
export function parseCidr(v: string): { address: string; prefix: number; family: 4 | 6 } | null {
  const slash = v.lastIndexOf('/');
  if (slash < 0) return null;
  const address = v.slice(0, slash);
  const family = isIP(address);
  const prefixText = v.slice(slash + 1);
  if (family === 0 || !/^\d+$/.test(prefixText)) return null;
  const prefix = Number(prefixText);
  if (prefix > (family === 4 ? 32 : 128)) return null;
  return { address, prefix, family: family as 4 | 6 };
}

/** IPv4 or IPv6 address (no prefix). */
export const isIPv4: Validator = (v) => (isIP(v) === 4 ? null : `Not an IPv4 address "${v}"`);
export const isIPv6: Validator = (v) => (isIP(v) === 6 ? null : `Not an IPv6 address "${v}"`);
export const isNetworkV4: Validator = (v) => (parseCidr(v)?.family === 4 ? null : `Not an IPv4 network "${v}"`);
export const isNetworkV6: Validator = (v) => (parseCidr(v)?.family === 6 ? null : `Not an IPv6 network "${v}"`);
