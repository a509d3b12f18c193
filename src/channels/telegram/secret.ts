/** Constant-time check of Telegram's `X-Telegram-Bot-Api-Secret-Token` header. */
import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * True when `received` equals `expected`. Both sides are hashed first so the comparison runs on
 * equal-length buffers and its time reveals neither the secret nor its length.
 */
export function secretMatches(received: string | string[] | undefined, expected: string | undefined): boolean {
  if (!expected || typeof received !== 'string' || received.length === 0) return false;
  const a = createHash('sha256').update(received).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}
