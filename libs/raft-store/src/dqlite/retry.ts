// When to retry a failed request, and how long to wait. Mirrors go-dqlite/LXD: a follower's "not leader" and
// SQLITE_BUSY are answered before anything is applied, so retrying them is always safe; a connection lost or a
// timeout mid-request may have been applied, so only idempotent requests (reads) retry then.
import { ConnectionError, isBusy, LeadershipLostError, NotLeaderError, TimeoutError } from './errors.js';

export interface RetryPolicy {
  /** Give up after this long (the last error is thrown). */
  timeoutMs: number;
  /** First delay; doubles per attempt up to maxDelayMs, with jitter so competing writers spread out. */
  baseDelayMs: number;
  maxDelayMs: number;
}

export const defaultRetryPolicy: RetryPolicy = { timeoutMs: 10_000, baseDelayMs: 5, maxDelayMs: 250 };

/** Whether a request that failed with `err` can be sent again. */
export function isRetryable(err: unknown, idempotent: boolean): boolean {
  if (err instanceof NotLeaderError || isBusy(err)) return true;
  if (err instanceof ConnectionError) return idempotent || !err.maybeApplied;
  if (err instanceof TimeoutError || err instanceof LeadershipLostError) return idempotent;
  return false;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function backoffDelay(policy: RetryPolicy, attempt: number): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt);
  return ceiling / 2 + (Math.random() * ceiling) / 2;
}

/** Runs `fn` until it succeeds, fails with an error `shouldRetry` rejects, or the policy's time is up. */
export async function withRetry<T>(
  fn: (attempt: number) => Promise<T>,
  shouldRetry: (err: unknown) => boolean,
  policy: RetryPolicy = defaultRetryPolicy,
): Promise<T> {
  const deadline = Date.now() + policy.timeoutMs;
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      const delay = backoffDelay(policy, attempt);
      if (!shouldRetry(err) || Date.now() + delay > deadline) throw err;
      await sleep(delay);
    }
  }
}
