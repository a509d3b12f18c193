import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { splitForTelegram, visibleHtmlLength, visibleMarkdownLength } from './split-entities.ts';

/** Every tag closed in order, no half tag or half entity: what Telegram's HTML parser demands. */
function validHtml(s: string): boolean {
  const stack: string[] = [];
  for (const m of s.matchAll(/<(\/?)([a-z]+)[^>]*>/g)) {
    if (!m[1]) stack.push(m[2]);
    else if (stack.pop() !== m[2]) return false;
  }
  const noTags = s.replace(/<[^>]*>/g, '');
  return stack.length === 0 && !/[<>]/.test(noTags) && !/&(?![a-z]+;|#\d+;)/.test(noTags);
}

const hasLoneSurrogate = (s: string) =>
  /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(s);

describe('splitting for Telegram', () => {
  it('counts UTF-16 units like Telegram: emoji count 2 and are never cut in half', () => {
    const text = `${'😀'.repeat(3000)} ${'ñ'.repeat(3000)}`; // 6000 + 1 + 3000 units
    const parts = splitForTelegram(text);
    expect(parts.length).toBeGreaterThan(1);
    for (const p of parts) {
      expect(p.length).toBeLessThanOrEqual(4096);
      expect(hasLoneSurrogate(p)).toBe(false);
    }
    expect(parts.join('').replace(/\s/g, '')).toBe(text.replace(/\s/g, ''));
    expect(splitForTelegram('a'.repeat(4096))).toHaveLength(1);
    expect(splitForTelegram('😀'.repeat(2049))).toHaveLength(2); // 4098 units although 2049 characters
  });

  it('closes and reopens an HTML span cut in two, and never cuts inside a tag or an entity', () => {
    const para =
      'Una frase con <b>negrita que sigue y sigue</b> y un <a href="https://example.com/a b">enlace con espacios</a>. ';
    const text = `<i>${para.repeat(60)}</i> &amp; ${'<b>'}${'palabra '.repeat(700)}</b>`;
    const parts = splitForTelegram(text, 'HTML');
    expect(parts.length).toBeGreaterThan(2);
    for (const p of parts) {
      expect(validHtml(p), p.slice(0, 80)).toBe(true);
      expect(visibleHtmlLength(p)).toBeLessThanOrEqual(4096);
    }
    expect(parts[1].startsWith('<i>')).toBe(true); // the italic span continues in part 2
  });

  it('counts the visible text, not the markup, against the limit', () => {
    const text = `<b>${'x'.repeat(4000)}</b>`; // 4007 raw characters, 4000 visible
    expect(splitForTelegram(text, 'HTML')).toEqual([text]);
    expect(visibleHtmlLength('a &lt;b&gt; &#128512;')).toBe(8); // the emoji is 2 UTF-16 units
  });

  it('moves a hard-cut entity whole into the next part', () => {
    const parts = splitForTelegram('&amp;'.repeat(5000), 'HTML');
    for (const p of parts) {
      expect(p).toMatch(/^(&amp;)+$/);
      expect(visibleHtmlLength(p)).toBeLessThanOrEqual(4096);
    }
    expect(parts.join('')).toBe('&amp;'.repeat(5000));
  });

  it('keeps MarkdownV2 spans balanced across parts', () => {
    const text = `*${'negrita larga '.repeat(400)}* y \\*no\\* ${'_cursiva_ '.repeat(100)}`;
    const parts = splitForTelegram(text, 'MarkdownV2');
    expect(parts.length).toBeGreaterThan(1);
    for (const p of parts) {
      const unescapedStars = p.replace(/\\./g, '').split('*').length - 1;
      expect(unescapedStars % 2).toBe(0);
      expect(visibleMarkdownLength(p, 'MarkdownV2')).toBeLessThanOrEqual(4096);
    }
  });

  it('produces valid HTML parts within the limit for arbitrary formatted text (property)', () => {
    const word = fc.constantFrom('hola', 'mundo', '😀', 'ñandú', 'a&amp;b', '&lt;x&gt;', 'https://ex.com/p?q=1');
    const span = fc.tuple(fc.constantFrom('b', 'i', 'code', 'u'), fc.array(word, { minLength: 1, maxLength: 40 }));
    const doc = fc
      .array(fc.oneof(word, span), { minLength: 1, maxLength: 300 })
      .map((xs) => xs.map((x) => (typeof x === 'string' ? x : `<${x[0]}>${x[1].join(' ')}</${x[0]}>`)).join(' '));
    fc.assert(
      fc.property(doc, fc.integer({ min: 20, max: 200 }), (text, limit) => {
        for (const p of splitForTelegram(text, 'HTML', limit)) {
          if (!validHtml(p) || visibleHtmlLength(p) > limit) return false;
        }
        return true;
      }),
      { numRuns: 200 },
    );
  });
});
