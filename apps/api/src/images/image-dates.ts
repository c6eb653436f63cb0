// Image timestamps as LXD prints them (Go's RFC 3339 with trimmed fractions) and as metadata.yaml gives them.
import { badRequest } from '../http/api-error.js';

/** Go's zero time.Time, LXD's "never" for last_used_at. */
export const ZERO_TIME = '0001-01-01T00:00:00Z';
/** time.Unix(0, 0), LXD's "never" for expires_at. */
export const EPOCH_TIME = '1970-01-01T00:00:00Z';

/** Formats a stored ISO date like Go's RFC3339Nano: UTC, no trailing zeros in the fraction. */
export function goTime(iso: string | null, fallback: string): string {
  if (!iso) return fallback;
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return fallback;
  const [base, fraction = ''] = new Date(ms).toISOString().slice(0, -1).split('.');
  const trimmed = fraction.replace(/0+$/, '');
  return trimmed ? `${base}.${trimmed}Z` : `${base}Z`;
}

/** Unix seconds (metadata.yaml) to a stored ISO date. */
export const unixToIso = (seconds: number): string => new Date(seconds * 1000).toISOString();

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/** Parses an RFC 3339 request date; `undefined` for Go's zero time or an empty string (both mean "unchanged"). */
export function parseRequestTime(value: string, field: string): string | undefined {
  if (value === '' || value === ZERO_TIME) return undefined;
  const ms = RFC3339.test(value) ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(ms)) throw badRequest(`Invalid value for field "${field}": "${value}" is not an RFC 3339 date`);
  if (ms === Date.parse(ZERO_TIME)) return undefined;
  return new Date(ms).toISOString();
}
