import { describe, expect, it } from 'vitest';
import { backoffDelay, QUERY_FAILURE_BACKOFF } from './backoff.ts';

const policy = { baseMs: 1000, maxMs: 300_000, jitter: [0.8, 1.2] as const };

describe('backoffDelay', () => {
  it('doubles per attempt from the base, within the jitter range', () => {
    expect(backoffDelay(policy, 1, { random: () => 0.5 })).toBe(1000);
    expect(backoffDelay(policy, 2, { random: () => 0.5 })).toBe(2000);
    expect(backoffDelay(policy, 4, { random: () => 0.5 })).toBe(8000);
    expect(backoffDelay(policy, 3, { random: () => 0 })).toBe(3200);
    expect(backoffDelay(policy, 3, { random: () => 1 })).toBe(4800);
  });

  it('caps the exponential part, also for absurd attempt counts', () => {
    expect(backoffDelay(policy, 30, { random: () => 0.5 })).toBe(300_000);
    expect(backoffDelay(policy, 10_000, { random: () => 1 })).toBe(360_000);
    expect(Number.isFinite(backoffDelay(policy, Number.MAX_SAFE_INTEGER))).toBe(true);
  });

  it('treats attempt 0 or less like the first attempt', () => {
    expect(backoffDelay(policy, 0, { random: () => 0.5 })).toBe(1000);
    expect(backoffDelay(policy, -3, { random: () => 0.5 })).toBe(1000);
  });

  it('never waits less than the other side asked for', () => {
    expect(backoffDelay(policy, 1, { random: () => 0.5, retryAfterMs: 30_000 })).toBe(30_000);
    expect(backoffDelay(policy, 5, { random: () => 0.5, retryAfterMs: 10 })).toBe(16_000);
  });

  it('keeps the claim-loop numbers: 200 ms, 400 ms, … up to 5 s', () => {
    expect([1, 2, 3, 4, 5, 6, 7].map((a) => backoffDelay(QUERY_FAILURE_BACKOFF, a))).toEqual([
      200, 400, 800, 1600, 3200, 5000, 5000,
    ]);
  });
});
