// The X-LXD-* headers of /1.0/instances/{name}/files, read and written exactly as LXD 5.0.2 does
// (shared.ParseLXDFileHeaders, lxd/instance_file.go). Pure functions.
import type { AgentFileInfo } from '@lxdts/api-types';

export interface PushHeaders {
  /** -1 = not given (LXD: leave as created, i.e. root). */
  uid: number;
  gid: number;
  /** Permission bits 0-0777; -1 = not given. */
  mode: number;
  /** As sent; default `file`. Checked by the caller (LXD: "Bad file type"). */
  type: string;
  /** As sent; default `overwrite`. Checked by the caller (LXD: "Bad file write mode"). */
  write: string;
}

type Headers = Record<string, string | string[] | undefined>;

const header = (headers: Headers, name: string): string => {
  const v = headers[name];
  return (Array.isArray(v) ? v[0] : v) ?? '';
};

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** Go's strconv.ParseInt(s, 10, 64): optional sign, decimal digits, int64 range; null when it fails. */
function parseInt64(s: string): bigint | null {
  if (!/^[+-]?\d+$/.test(s)) return null;
  const n = BigInt(s);
  return n < INT64_MIN || n > INT64_MAX ? null : n;
}

/**
 * A uid or gid header: what ParseInt cannot read is -1 (unset), as LXD. Negative values leave the id alone
 * (chown's -1); values past 2^32-2 cannot be an id and are refused.
 */
function parseId(s: string, what: string): number | Error {
  const n = parseInt64(s);
  if (n === null || n < 0n) return -1;
  if (n > 0xfffffffen) return new Error(`Invalid ${what} "${s}"`);
  return Number(n);
}

/**
 * X-LXD-mode: LXD requires strconv.Atoi to accept it, then reads it with ParseInt(s, 0, 0), so `0640` is octal and
 * `640` decimal; the result is masked to 0777 (os.FileMode & ModePerm, negative values wrapping as uint32). When
 * the base-0 parse fails (`0648`), the decimal value stays, and only its 0777 bits reach chmod.
 */
export function parseMode(s: string): number {
  const decimal = parseInt64(s);
  if (decimal === null) return -1;
  const digits = s.replace(/^[+-]/, '');
  const negative = s.startsWith('-');
  let value: bigint | null = decimal;
  if (digits.length > 1 && digits.startsWith('0')) value = /[89]/.test(digits) ? null : BigInt(`0o${digits}`) * (negative ? -1n : 1n);
  if (value === null) return decimal < 0n ? -1 : Number(decimal & 0o777n);
  return Number(BigInt.asUintN(32, value) & 0o777n);
}

/** The headers of a POST, with LXD's defaults; an impossible uid/gid is the only error. */
export function parsePushHeaders(headers: Headers): PushHeaders | Error {
  const uid = parseId(header(headers, 'x-lxd-uid'), 'uid');
  if (uid instanceof Error) return uid;
  const gid = parseId(header(headers, 'x-lxd-gid'), 'gid');
  if (gid instanceof Error) return gid;
  return {
    uid,
    gid,
    mode: parseMode(header(headers, 'x-lxd-mode')),
    type: header(headers, 'x-lxd-type') || 'file',
    write: header(headers, 'x-lxd-write') || 'overwrite',
  };
}

/** Go's time.Time.UTC().String() for a whole second: `2026-12-03 12:26:46 +0000 UTC`. */
export function goUtcTime(unixSeconds: number): string {
  const iso = new Date(unixSeconds * 1000).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)} +0000 UTC`;
}

/** LXD's wire type of a path: anything that is not a directory or a symlink is a `file`. */
export function lxdFileType(info: AgentFileInfo): 'file' | 'directory' | 'symlink' {
  return info.type === 'directory' || info.type === 'symlink' ? info.type : 'file';
}

/** X-LXD-uid/gid/mode/modified/type of a GET or HEAD (Go writes them canonicalized: X-Lxd-Uid...). */
export function fileHeaders(info: AgentFileInfo): Record<string, string> {
  return {
    'X-Lxd-Uid': String(info.uid),
    'X-Lxd-Gid': String(info.gid),
    'X-Lxd-Mode': (info.mode & 0o777).toString(8).padStart(4, '0'),
    'X-Lxd-Modified': goUtcTime(info.mtime),
    'X-Lxd-Type': lxdFileType(info),
  };
}

/** Content-Disposition's `inline;filename=<base>`; a name a header cannot carry as is is percent-encoded. */
export function contentDisposition(path: string): string {
  const base = path === '/' ? '/' : (path.replace(/\/+$/, '').split('/').pop() ?? '');
  return `inline;filename=${/^[\x20-\x7e]*$/.test(base) ? base : encodeURIComponent(base)}`;
}

/**
 * What GET answers for a symlink: its target as an absolute, lexically clean path (LXD joins a relative target to
 * the link's directory and asks SFTP's RealPath, which only cleans).
 */
export function symlinkTargetPath(linkPath: string, target: string): string {
  const joined = target.startsWith('/') ? target : `${linkPath.replace(/\/[^/]*\/*$/, '')}/${target}`;
  const out: string[] = [];
  for (const c of joined.split('/')) {
    if (c === '' || c === '.') continue;
    if (c === '..') out.pop();
    else out.push(c);
  }
  return `/${out.join('/')}`;
}
