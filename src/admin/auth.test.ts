import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { KeyVerifier, keyFingerprint } from './auth.ts';

describe('KeyVerifier', () => {
  const v = new KeyVerifier(['old-key-0123456789abcdef0123456789', 'new-key-with-another-length-0123456789abcdef']);

  it('accepts every configured key (rotation) and nothing else', () => {
    expect(v.verify('old-key-0123456789abcdef0123456789')).toBe(true);
    expect(v.verify('new-key-with-another-length-0123456789abcdef')).toBe(true);
    for (const wrong of ['', 'old-key', 'old-key-0123456789abcdef01234567890', 'x'.repeat(5000), undefined]) {
      expect(v.verify(wrong)).toBe(false);
    }
  });

  it('accepts nothing when no key is configured', () => {
    expect(new KeyVerifier([]).verify('')).toBe(false);
    expect(new KeyVerifier(['']).verify('')).toBe(false);
  });

  it('fingerprints a key as the first 12 hex digits of its SHA-256', () => {
    const k = 'old-key-0123456789abcdef0123456789';
    expect(keyFingerprint(k)).toBe(createHash('sha256').update(k).digest('hex').slice(0, 12));
    expect(keyFingerprint(k)).not.toContain(k.slice(0, 6));
  });
});
