/**
 * The one backoff formula of WADI: `base · 2^(attempt-1)`, capped at `maxMs`, times a random
 * factor drawn from `jitter` (so replicas and restarts do not retry in lockstep), and never less
 * than a delay the other side asked for (`Retry-After`, `retry_after`). Every retry in WADI uses
 * it: inbox turns, outbox sends, the claim loops, the Telegram poller and alert notifications.
 * Each caller keeps its own numbers; only the formula is shared.
 */

/** The numbers of one retry policy. */
export interface BackoffPolicy {
  /** Delay before the second attempt (attempt 1 failed). */
  readonly baseMs: number;
  /** Cap on the exponential part. */
  readonly maxMs: number;
  /** Range of the random factor, e.g. [0.8, 1.2] for ±20 %; [1, 1] for none. */
  readonly jitter: readonly [number, number];
}

/** Delay after the `attempt`-th failure (1 = the first), in whole milliseconds. */
export function backoffDelay(
  policy: BackoffPolicy,
  attempt: number,
  opts: { readonly retryAfterMs?: number; readonly random?: () => number } = {},
): number {
  const exponent = Math.min(Math.max(0, Math.floor(attempt) - 1), 52);
  const raw = Math.min(policy.baseMs * 2 ** exponent, policy.maxMs);
  const [lo, hi] = policy.jitter;
  const factor = lo + (opts.random ?? Math.random)() * (hi - lo);
  return Math.round(Math.max(raw * factor, opts.retryAfterMs ?? 0));
}

/** Backoff of a loop whose database query failed (claim loops): 200 ms doubling to 5 s, no jitter. */
export const QUERY_FAILURE_BACKOFF: BackoffPolicy = { baseMs: 200, maxMs: 5000, jitter: [1, 1] };
