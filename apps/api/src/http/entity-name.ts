import { badRequest } from './api-error.js';

/**
 * Names that become URL path segments and file names (profiles, projects, pools, networks, certificates...):
 * not empty, no "/", not "." or "..", no whitespace or control characters, at most 63 characters for most types.
 */
export function validateEntityName(kind: string, name: string, maxLength = 63): void {
  if (name === '') throw badRequest(`No name provided`);
  if (name.length > maxLength) throw badRequest(`Invalid ${kind} name "${name}": longer than ${maxLength} characters`);
  if (name === '.' || name === '..') throw badRequest(`Invalid ${kind} name "${name}"`);
  if (name.includes('/')) throw badRequest(`Invalid ${kind} name "${name}": cannot contain "/"`);
  // eslint-disable-next-line no-control-regex
  if (/[\s\x00-\x1f\x7f]/.test(name)) throw badRequest(`Invalid ${kind} name "${name}": cannot contain white space or control characters`);
}
