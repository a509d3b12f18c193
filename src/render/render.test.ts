/**
 * Golden tests on a corpus of realistic model answers (test/fixtures/markdown/*.md): each renders
 * and splits to exactly the committed WhatsApp and Telegram output (parts separated by
 * PART_SEPARATOR). Regenerate after an intended change with
 * `UPDATE_GOLDEN=1 npx vitest run src/render/render.test.ts` and review the diff.
 * Beside the goldens: properties any rendered reply must have (no raw Markdown left, Telegram's
 * own parser accepts every part), and hostile input.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { splitForTelegram, visibleHtmlLength } from '../channels/telegram/split-entities.ts';
import { splitForWhatsApp } from '../channels/whatsapp/split-markup.ts';
import { parseTelegramHtml } from '../sandbox/telegram-html.ts';
import { renderFor } from './render.ts';
import { renderTelegramHtml } from './telegram.ts';
import { renderWhatsApp } from './whatsapp.ts';

const DIR = path.join(import.meta.dirname, '../../test/fixtures/markdown');
const PART_SEPARATOR = '\n-----8<-----\n';
const corpus = readdirSync(DIR)
  .filter((f) => f.endsWith('.md'))
  .map((f) => ({ name: f.slice(0, -3), md: readFileSync(path.join(DIR, f), 'utf8') }));

const whatsappParts = (md: string) => splitForWhatsApp(renderWhatsApp(md));
const telegramParts = (md: string) => splitForTelegram(renderTelegramHtml(md), 'HTML');

function golden(file: string, actual: string): void {
  const p = path.join(DIR, file);
  if (process.env.UPDATE_GOLDEN === '1' || !existsSync(p)) writeFileSync(p, actual);
  expect(actual).toBe(readFileSync(p, 'utf8'));
}

/** Visible text outside code, where no Markdown syntax may survive. */
function proseOf(whatsapp: string): string {
  return whatsapp.replace(/```[\s\S]*?```/g, '').replace(/`[^`\n]*`/g, '');
}

describe('golden corpus', () => {
  it('has the cases the issue names', () => {
    expect(corpus.map((c) => c.name).sort()).toEqual(
      expect.arrayContaining([
        'code-escapes',
        'long-code',
        'long-table',
        'nested-emphasis',
        'python-dunder',
        'star-bullets',
      ]),
    );
  });

  for (const { name, md } of corpus) {
    it(`${name}: WhatsApp output matches the golden file`, () => {
      golden(`${name}.whatsapp.txt`, whatsappParts(md).join(PART_SEPARATOR));
    });
    it(`${name}: Telegram output matches the golden file`, () => {
      golden(`${name}.telegram-html.txt`, telegramParts(md).join(PART_SEPARATOR));
    });
    it(`${name}: no raw Markdown reaches the user, every part fits and parses`, () => {
      for (const p of whatsappParts(md)) {
        expect(p.length).toBeLessThanOrEqual(4096);
        expect((p.match(/```/g) ?? []).length % 2).toBe(0);
        const prose = proseOf(p);
        expect(prose).not.toMatch(/\*\*|^#{1,6} |\]\(|^\s*\|.*\|\s*$|^\s*\|?\s*:?-{3,}/m);
      }
      for (const p of telegramParts(md)) {
        const parsed = parseTelegramHtml(p);
        expect(parsed, p.slice(0, 120)).toMatchObject({ ok: true });
        if (!parsed.ok) continue;
        expect(parsed.text.length).toBeLessThanOrEqual(4096);
        expect(visibleHtmlLength(p)).toBeLessThanOrEqual(4096);
        const prose = parsed.text.replace(/`[^`\n]*`/g, '');
        if (!/<pre>/.test(p)) expect(prose).not.toMatch(/\*\*|^#{1,6} |\]\(/m);
      }
    });
  }
});

describe('the cases that go wrong most', () => {
  it('keeps __init__ and snake_case literal, never italic or bold', () => {
    const md = 'Define __init__ in __init__.py; call load_user_profile or my_var_name.';
    expect(renderTelegramHtml(md)).toBe('Define __init__ in __init__.py; call load_user_profile or my_var_name.');
    // WhatsApp has no escape: the dunder goes in monospace, where its markers are inert.
    expect(renderWhatsApp(md)).toBe('Define `__init__` in `__init__`.py; call load_user_profile or my_var_name.');
  });

  it('nests emphasis the way each channel reads it', () => {
    expect(renderWhatsApp('**bold _and italic_** and ***both***')).toBe('*bold _and italic_* and _*both*_');
    expect(renderTelegramHtml('**bold _and italic_** and ***both***')).toBe(
      '<b>bold <i>and italic</i></b> and <i><b>both</b></i>',
    );
  });

  it('writes WhatsApp markers only where WhatsApp reads them', () => {
    // Glued to letters, WhatsApp would show the asterisks: the span goes out plain instead.
    expect(renderWhatsApp('foo**bar**baz and **ok**.')).toBe('foobarbaz and *ok*.');
    expect(renderWhatsApp('** spaced **')).toBe('** spaced **');
  });

  it('turns * bullets, numbered and task lists into chat lines', () => {
    expect(renderWhatsApp('* one\n* two\n\n3. three\n4. four')).toBe('- one\n- two\n\n3. three\n4. four');
    expect(renderTelegramHtml('* one\n  * nested\n- [x] done')).toBe('• one\n  • nested\n\n• ☑ done');
  });

  it('escapes < > & in Telegram text and code, and leaves them alone on WhatsApp', () => {
    expect(renderTelegramHtml('a < b & c > d `x<y>&z`')).toBe('a &lt; b &amp; c &gt; d <code>x&lt;y&gt;&amp;z</code>');
    expect(renderWhatsApp('a < b & c > d')).toBe('a < b & c > d');
  });

  it('writes links as text (url) on WhatsApp and <a> on Telegram, bare when the text is the URL', () => {
    expect(renderWhatsApp('[Docs](https://x.io/a?b=1&c=2) and https://y.io')).toBe(
      'Docs (https://x.io/a?b=1&c=2) and https://y.io',
    );
    expect(renderTelegramHtml('[Docs](https://x.io/a?b="1"&c=2)')).toBe(
      '<a href="https://x.io/a?b=&quot;1&quot;&amp;c=2">Docs</a>',
    );
    // Telegram only links http(s), tg: and mailto: — anything else stays readable text.
    expect(renderTelegramHtml('[run](javascript:alert(1))')).toBe('run (javascript:alert(1))');
  });

  it('shows headings as bold lines and a quote inside a quote as one quote', () => {
    expect(renderWhatsApp('## Paso **1**\n\n> a\n> > b')).toBe('*Paso 1*\n\n> a\n>\n> b');
    expect(renderTelegramHtml('## Paso **1**\n\n> a\n> > b')).toBe('<b>Paso 1</b>\n\n<blockquote>a\n\nb</blockquote>');
  });

  it('keeps code indentation and reopens the block in every part of a reply over 4096', () => {
    const code = Array.from({ length: 120 }, (_, i) => `    line_${i} = value if a < b and c & d else None`).join('\n');
    const md = `Intro:\n\n\`\`\`python\ndef f():\n${code}\n\`\`\`\n\nDone.`;
    const tg = telegramParts(md);
    expect(tg.length).toBeGreaterThan(1);
    const inner = tg
      .map((p) => /<pre><code class="language-python">([\s\S]*?)<\/code><\/pre>/.exec(p)?.[1] ?? '')
      .join('\n')
      .replace(/&lt;/g, '<')
      .replace(/&amp;/g, '&');
    expect(inner).toBe(`def f():\n${code}`);
    const wa = whatsappParts(md);
    expect(wa.length).toBeGreaterThan(1);
    const waCode = wa.map((p) => /```\n([\s\S]*?)\n```/.exec(p)?.[1] ?? '').join('\n');
    expect(waCode).toBe(`def f():\n${code}`);
  });

  it('renders WADI-style plain texts unchanged apart from escaping', () => {
    const help = 'Comandos:\n/start: bienvenida\n/reset: olvidar <todo>';
    expect(renderFor('whatsapp', help)).toEqual({ text: help, format: 'whatsapp', options: {} });
    expect(renderFor('telegram', help)).toEqual({
      text: 'Comandos:\n/start: bienvenida\n/reset: olvidar &lt;todo&gt;',
      format: 'telegram_html',
      options: { parse_mode: 'HTML' },
    });
  });
});

describe('hostile input', () => {
  const hostile = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 300 }),
    fc.string({ unit: 'grapheme', maxLength: 300 }),
    fc
      .array(
        fc.constantFrom(
          '**',
          '*',
          '_',
          '__',
          '~~',
          '`',
          '```',
          '\n',
          '> ',
          '- ',
          '1. ',
          '|',
          '---',
          '[',
          '](',
          ')',
          '<b>',
          '</i>',
          '&',
          '<',
          ' ',
          'a',
          'ñ',
          '😀',
          '\u0000',
          '\ud800',
        ),
        { maxLength: 200 },
      )
      .map((a) => a.join('')),
  );

  it('property: any text renders, Telegram accepts every part and WhatsApp parts fit', () => {
    fc.assert(
      fc.property(hostile, (md) => {
        for (const p of telegramParts(md)) {
          expect(parseTelegramHtml(p)).toMatchObject({ ok: true });
          expect(visibleHtmlLength(p)).toBeLessThanOrEqual(4096);
        }
        for (const p of whatsappParts(md)) expect(p.length).toBeLessThanOrEqual(4096);
      }),
      { numRuns: 300 },
    );
  });

  it('deep nesting and huge delimiter runs come back as plain text, without recursion trouble', () => {
    for (const md of [
      '> '.repeat(20_000),
      '*'.repeat(50_000),
      `${'['.repeat(5000)}x${']'.repeat(5000)}`,
      'a'.repeat(40_000),
    ]) {
      const tg = renderTelegramHtml(md);
      expect(parseTelegramHtml(tg).ok || tg === '').toBe(true);
      expect(renderWhatsApp(md).length).toBeLessThanOrEqual(md.length);
    }
  });
});
