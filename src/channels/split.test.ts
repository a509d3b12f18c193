import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { splitText } from './split.ts';

const normalize = (s: string) => s.replace(/\s+/g, '');

describe('splitText', () => {
  it('returns short text whole and nothing for blank text', () => {
    expect(splitText('hola', { limit: 10 })).toEqual(['hola']);
    expect(splitText('   ', { limit: 10 })).toEqual([]);
  });

  it('prefers paragraph, then sentence, then word boundaries', () => {
    const para = `${'a'.repeat(30)}\n\n${'b'.repeat(30)}`;
    expect(splitText(para, { limit: 40 })).toEqual(['a'.repeat(30), 'b'.repeat(30)]);
    expect(splitText('Primera frase aquí. Segunda frase más larga allí.', { limit: 30 })).toEqual([
      'Primera frase aquí.',
      'Segunda frase más larga allí.',
    ]);
    expect(splitText('uno dos tres cuatro cinco', { limit: 10 })).toEqual(['uno dos', 'tres', 'cuatro', 'cinco']);
  });

  it('never cuts a URL that fits in a part', () => {
    const url = 'https://example.com/a/very/long/path?with=query&and=more';
    const parts = splitText(`see ${url} now please`, { limit: url.length + 2 });
    expect(parts).toContain(url);
  });

  it('never splits an emoji surrogate pair', () => {
    const text = '😀'.repeat(50);
    const parts = splitText(text, { limit: 7 });
    for (const p of parts) {
      expect(p.length).toBeLessThanOrEqual(7);
      expect(p).toMatch(/^(😀)+$/u);
    }
    expect(parts.join('')).toBe(text);
  });

  it('property: no part over the limit, and parts joined give back the text', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.string({ minLength: 1, maxLength: 12 }),
            fc.constantFrom(' ', '\n', '\n\n', '. ', '😀', 'ñ', 'https://x.io/p'),
          ),
          {
            maxLength: 200,
          },
        ),
        fc.integer({ min: 2, max: 80 }),
        (pieces, limit) => {
          const text = pieces.join('');
          const parts = splitText(text, { limit });
          for (const p of parts) expect(p.length).toBeLessThanOrEqual(limit);
          expect(normalize(parts.join(''))).toBe(normalize(text));
        },
      ),
      { numRuns: 500 },
    );
  });

  it('property: words that fit are never cut', () => {
    fc.assert(
      fc.property(fc.array(fc.stringMatching(/^[a-zñ]{1,8}$/), { minLength: 1, maxLength: 100 }), (words) => {
        const parts = splitText(words.join(' '), { limit: 20 });
        expect(parts.flatMap((p) => p.split(' '))).toEqual(words);
      }),
      { numRuns: 300 },
    );
  });
});
