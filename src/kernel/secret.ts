/** The one constant-time secret comparison: used for admin keys, METRICS_TOKEN and webhook secrets. */
import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * True when `presented` equals `expected`. Both sides are hashed first, so the comparison runs on
 * equal-length buffers and its time reveals neither the secret nor its length.
 */
export function secretEquals(presented: string, expected: string): boolean {
  return timingSafeEqual(
    createHash('sha256').update(presented).digest(),
    createHash('sha256').update(expected).digest(),
  );
}
