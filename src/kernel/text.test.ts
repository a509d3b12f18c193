import { describe, expect, it } from 'vitest';
import { storableString } from '../inbox/normalise.ts';
import { clean } from '../media/extract.ts';
import { cleanText, wellFormed } from './text.ts';

// Lone high and low surrogates, NUL, C0/DEL controls, CRLF, a valid pair (emoji), undecoded bytes.
const HOSTILE = 'a\uD800b\uDC00c\u0000d\u0007e\u007f\r\nf\rg  \n\n\n\nh 😀 \uFFFD\uD83D\u0000\uDE00';

describe('the three text rules (src/kernel/text.ts)', () => {
  it('wellFormed only repairs lone surrogates; the storable rule also drops NUL and nothing else', () => {
    expect(wellFormed(HOSTILE)).toBe(
      'a\uFFFDb\uFFFDc\u0000d\u0007e\u007f\r\nf\rg  \n\n\n\nh 😀 \uFFFD\uFFFD\u0000\uFFFD',
    );
    // NUL goes first, so a pair split by a NUL is joined again (and dedupe keys stay stable).
    expect(storableString(HOSTILE)).toBe('a\uFFFDb\uFFFDcd\u0007e\u007f\r\nf\rg  \n\n\n\nh 😀 \uFFFD😀');
  });

  it('cleanText drops controls and unifies line ends; the document rule also folds layout noise', () => {
    expect(cleanText(HOSTILE)).toBe('a\uFFFDb\uFFFDcde\nf\ng  \n\n\n\nh 😀 \uFFFD\uFFFD\uFFFD');
    expect(clean(HOSTILE)).toBe('abcde\nf\ng\n\nh 😀');
    for (const rule of [wellFormed, storableString, cleanText, clean]) expect(rule(rule(HOSTILE))).toBe(rule(HOSTILE));
  });
});
