/**
 * Meta's webhook signature: `X-Hub-Signature-256: sha256=<hex>`, the HMAC-SHA256 of the raw body
 * bytes keyed with the app secret. Verified on the bytes as received, because Meta signs its own
 * `\uXXXX`-escaped serialisation and any re-serialisation changes them.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

const HEADER = /^sha256=([0-9a-fA-F]{64})$/;

/** The header value Meta would send for `body` (lowercase hex). */
export function signBody(body: Buffer | string, appSecret: string): string {
  return `sha256=${createHmac('sha256', appSecret).update(body).digest('hex')}`;
}

/**
 * True when `header` is a well-formed signature of `body` under `appSecret`. Hex case is ignored;
 * the digests are compared in constant time (both are 32 bytes, so lengths never leak).
 */
export function verifySignature(body: Buffer, header: string | string[] | undefined, appSecret: string): boolean {
  if (typeof header !== 'string') return false;
  const m = HEADER.exec(header.trim());
  if (!m) return false;
  const expected = createHmac('sha256', appSecret).update(body).digest();
  const given = Buffer.from(m[1], 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}
