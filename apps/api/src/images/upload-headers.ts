// The X-LXD-* headers of raw image uploads (LXD 5.0.2 reads X-LXD-fingerprint, -filename, -public, -properties;
// it ignores X-LXD-profiles).

export type Headers = Record<string, string | string[] | undefined>;

export function header(headers: Headers, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Go's shared.IsTrue. */
export const isTrue = (v: string | undefined): boolean => ['true', '1', 'yes', 'on'].includes((v ?? '').toLowerCase());

/** X-LXD-properties: URL query strings; the first value of each key wins, as LXD. */
export function headerProperties(headers: Headers): Record<string, string> {
  const raw = headers['x-lxd-properties'];
  const out: Record<string, string> = {};
  for (const value of Array.isArray(raw) ? raw : raw ? [raw] : []) {
    const params = new URLSearchParams(value);
    for (const key of new Set(params.keys())) out[key] = params.get(key)!;
  }
  return out;
}

