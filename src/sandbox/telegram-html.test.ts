import { describe, expect, it } from 'vitest';
import { parseTelegramHtml } from './telegram-html.ts';

describe("the fake's Telegram HTML parser", () => {
  it('accepts the tags Telegram supports and returns the visible text', () => {
    const html =
      '<b>b</b> <strong>s</strong> <i>i</i> <em>e</em> <u>u</u> <s>s</s> <del>d</del> <span class="tg-spoiler">x</span> ' +
      '<a href="https://x.io/?a=1&amp;b=2">link</a> <code>c &lt; d</code> <pre><code class="language-py">p &amp; q</code></pre> ' +
      '<blockquote expandable>q</blockquote> &#128512; &#x41; &quot;';
    expect(parseTelegramHtml(html)).toEqual({ ok: true, text: 'b s i e u s d x link c < d p & q q 😀 A "' });
  });

  it('keeps an & that starts no entity, and unknown named entities, as typed', () => {
    expect(parseTelegramHtml('fish & chips &nbsp; &copy')).toEqual({ ok: true, text: 'fish & chips &nbsp; &copy' });
  });

  it("refuses what Telegram refuses, in Telegram's words", () => {
    const cases: [string, string][] = [
      ['a <br> b', 'Unsupported start tag "br" at byte offset 2'],
      ['1 < 2', 'Unsupported start tag "" at byte offset 2'],
      ['<div>x</div>', 'Unsupported start tag "div" at byte offset 0'],
      ['<b>x', 'Can\'t find end tag corresponding to start tag "b"'],
      ['<b><i>x</b></i>', 'Unmatched end tag at byte offset 7, expected "</i>", found "</b>"'],
      ['x</b>', 'Unexpected end tag at byte offset 1'],
      ['<b', 'Unclosed start tag at byte offset 0'],
      ['<span>x</span>', 'Tag "span" must have class "tg-spoiler" at byte offset 0'],
      ['ñ <x>', 'Unsupported start tag "x" at byte offset 3'],
    ];
    for (const [html, error] of cases) expect(parseTelegramHtml(html), html).toEqual({ ok: false, error });
  });

  it('reports an empty text after parsing as empty', () => {
    expect(parseTelegramHtml('  <b></b>  ')).toEqual({ ok: true, text: '' });
  });
});
