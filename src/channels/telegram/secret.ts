/** Constant-time check of Telegram's `X-Telegram-Bot-Api-Secret-Token` header. */
import { secretEquals } from '../../kernel/secret.ts';

/** True when `received` equals `expected` (constant time, see kernel/secret.ts). */
export function secretMatches(received: string | string[] | undefined, expected: string | undefined): boolean {
  if (!expected || typeof received !== 'string' || received.length === 0) return false;
  return secretEquals(received, expected);
}
