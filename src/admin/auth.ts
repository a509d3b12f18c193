/**
 * Admin key checks. Every configured key is compared (rotation: old and new keys work at once),
 * always all of them, in constant time: both sides are hashed with SHA-256 first so the buffers
 * have equal length whatever the caller sent, and no comparison short-circuits.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

const sha256 = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/** Who a key is in the audit log: the first 12 hex digits of its SHA-256, never the key itself. */
export function keyFingerprint(key: string): string {
  return sha256(key).toString('hex').slice(0, 12);
}

/** Checks presented keys against the configured ones. */
export class KeyVerifier {
  private readonly digests: readonly Buffer[];

  constructor(keys: readonly string[]) {
    this.digests = keys.filter((k) => k.length > 0).map(sha256);
  }

  /** True when `presented` equals one of the configured keys. */
  verify(presented: string | undefined): boolean {
    if (presented === undefined || presented.length === 0 || presented.length > 1024) return false;
    const digest = sha256(presented);
    let ok = false;
    // No early exit: the time taken does not reveal which key (if any) matched.
    for (const d of this.digests) ok = timingSafeEqual(d, digest) || ok;
    return ok;
  }
}
