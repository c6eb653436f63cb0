import { createHash } from 'node:crypto';
import { preconditionFailed } from './api-error.js';

/** ETag of a resource's writable state. Clients only echo it back, so any stable hash works (lxd-api.md §1.4). */
export function etagOf(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value) + '\n').digest('hex');
}

/** Compares If-Match against the current state; a missing header means no check. */
export function checkEtag(ifMatch: string | undefined, current: unknown): void {
  if (!ifMatch) return;
  const want = ifMatch.replace(/^W\//, '').replace(/^"|"$/g, '');
  const have = etagOf(current);
  if (want !== have) throw preconditionFailed(`ETag doesn't match: ${have} vs ${want}`);
}
