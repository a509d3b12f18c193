import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_STORED_DEPTH, normaliseForStorage, storableString, TOO_DEEP } from './normalise.ts';

const wellFormed = (s: string) => !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(s);

describe('normaliseForStorage', () => {
  it('drops U+0000 and replaces lone surrogates, keeping every other character', () => {
    expect(storableString('a\u0000b')).toBe('ab');
    expect(storableString('x\uD800y\uDC00z')).toBe('x\uFFFDy\uFFFDz');
    expect(storableString('pair 😀 kept, é ñ 中')).toBe('pair 😀 kept, é ñ 中');
  });

  it('normalises keys and nested values, and caps depth', () => {
    let deep: unknown = 'bottom';
    for (let i = 0; i < 100; i++) deep = { n: deep };
    const out = normaliseForStorage({ 'k\u0000ey': ['\uDFFF'], deep }) as Record<string, unknown>;
    expect(out.key).toEqual(['\uFFFD']);
    let d = out.deep;
    let levels = 1;
    while (typeof d === 'object' && d !== null) {
      d = (d as { n: unknown }).n;
      levels++;
    }
    expect(d).toBe(TOO_DEEP);
    expect(levels).toBe(MAX_STORED_DEPTH);
  });

  it('always yields NUL-free, well-formed strings for any full-Unicode, binary or code-unit input', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ unit: 'binary' }),
          fc.string({ unit: 'grapheme' }),
          // Any UTF-16 code unit, so lone surrogates and NUL appear often.
          fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)) }),
        ),
        (s) => {
          const out = storableString(s);
          expect(out.includes('\u0000')).toBe(false);
          expect(wellFormed(out)).toBe(true);
          expect(storableString(out)).toBe(out);
        },
      ),
      { numRuns: 2000 },
    );
  });
});
