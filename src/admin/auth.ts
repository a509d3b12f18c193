/**
 * Admin key checks. Every configured key is compared (rotation: old and new keys work at once),
 * always all of them, in constant time (kernel/secret.ts hashes both sides first), and no
 * comparison short-circuits.
 */
import { createHash } from 'node:crypto';
import { secretEquals } from '../kernel/secret.ts';

const sha256 = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/** Who a key is in the audit log: the first 12 hex digits of its SHA-256, never the key itself. */
export function keyFingerprint(key: string): string {
  return sha256(key).toString('hex').slice(0, 12);
}

/** Checks presented keys against the configured ones. */
export class KeyVerifier {
  private readonly keys: readonly string[];

  constructor(keys: readonly string[]) {
    this.keys = keys.filter((k) => k.length > 0);
  }

  /** True when `presented` equals one of the configured keys. */
  verify(presented: string | undefined): boolean {
    if (presented === undefined || presented.length === 0 || presented.length > 1024) return false;
    let ok = false;
    // No early exit: the time taken does not reveal which key (if any) matched.
    for (const k of this.keys) ok = secretEquals(presented, k) || ok;
    return ok;
  }
}
