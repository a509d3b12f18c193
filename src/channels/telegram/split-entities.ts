/**
 * Splitting for Telegram with a parse mode: `splitText` does the boundary work; this layer makes
 * every part valid markup on its own. Lengths count what Telegram counts (UTF-16 units of the text
 * *after* entity parsing), tags and escapes never cross a cut, and a formatting span cut in two
 * is closed at the end of one part and reopened at the start of the next.
 */
import { splitText } from '../split.ts';

/** Telegram's limit per message, in UTF-16 units of the visible text. */
export const TELEGRAM_TEXT_LIMIT = 4096;

/** Parse modes the splitter understands. */
export type ParseMode = 'HTML' | 'MarkdownV2' | 'Markdown';

// Whitespace inside a tag or link target must not be taken for a boundary: hide it meanwhile.
const HIDDEN_SPACE = '\uE000';
const HIDDEN_NL = '\uE001';

/** Splits `text` for sending with `parseMode` (plain splitting when undefined). */
export function splitForTelegram(text: string, parseMode?: ParseMode, limit = TELEGRAM_TEXT_LIMIT): string[] {
  if (!parseMode) return splitText(text, { limit });
  const html = parseMode === 'HTML';
  const protectedText = html ? hideInside(text, /<[^>]*>/g) : hideInside(text, /\]\([^)]*\)/g);
  const measure = html ? visibleHtmlLength : (s: string) => visibleMarkdownLength(s, parseMode);
  // Reopening tags costs no visible length, so the visible limit holds for repaired parts too.
  // Leading indentation matters inside <pre>: a part that starts mid-block keeps it.
  const parts = splitText(protectedText, { limit, measure, keepIndent: html }).map(reveal);
  const whole = html ? moveBrokenTails(parts, /<[^>]*$|&[#a-zA-Z0-9]*$/) : moveBrokenTails(parts, /\\$/);
  return html ? balanceHtml(whole) : balanceMarkdown(whole, parseMode);
}

function hideInside(text: string, re: RegExp): string {
  return text.replace(re, (m) => m.replace(/ /g, HIDDEN_SPACE).replace(/\n/g, HIDDEN_NL));
}

function reveal(s: string): string {
  return s.replaceAll(HIDDEN_SPACE, ' ').replaceAll(HIDDEN_NL, '\n');
}

/** A part ending in half a tag, entity or escape (a hard cut) hands that tail to the next part. */
function moveBrokenTails(parts: string[], tail: RegExp): string[] {
  const out: string[] = [];
  let carry = '';
  for (const p of parts) {
    let s = carry + p;
    carry = '';
    const m = tail.exec(s);
    if (m && m.index > 0) {
      carry = s.slice(m.index);
      s = s.slice(0, m.index);
    }
    out.push(s);
  }
  if (carry) out.push(carry);
  return out.filter((p) => p.length > 0);
}

/**
 * Telegram's length of an HTML message: tags removed, each entity it decodes one character (two
 * above U+FFFF). It decodes numeric entities and only the named &lt; &gt; &amp; &quot;; any other
 * `&name;` stays as typed.
 */
export function visibleHtmlLength(s: string): number {
  const stripped = s.replace(/<[^>]*>/g, '');
  return stripped.replace(/&(#[xX][0-9a-fA-F]+|#[0-9]+|lt|gt|amp|quot);/g, (_m, e: string) => {
    if (e.startsWith('#')) {
      const cp = e[1] === 'x' || e[1] === 'X' ? Number.parseInt(e.slice(2), 16) : Number.parseInt(e.slice(1), 10);
      return cp > 0xffff ? 'xx' : 'x';
    }
    return 'x';
  }).length;
}

/** Telegram's length of a Markdown message: markers, escapes and link targets removed. */
export function visibleMarkdownLength(s: string, mode: 'MarkdownV2' | 'Markdown'): number {
  let t = s.replace(/\]\([^)]*\)/g, ']').replace(/```[^\n`]*\n?/g, '');
  t = mode === 'MarkdownV2' ? t.replace(/\\./g, 'x').replace(/\|\||[*_~`[\]]/g, '') : t.replace(/[*_`[\]]/g, '');
  return t.length;
}

const VOID_TAGS = new Set(['br']);

/** Closes HTML tags left open at the end of a part and reopens them at the start of the next. */
function balanceHtml(parts: string[]): string[] {
  let open: { name: string; raw: string }[] = [];
  return parts.map((p) => {
    const prefix = open.map((t) => t.raw).join('');
    for (const m of p.matchAll(/<(\/?)([a-zA-Z][a-zA-Z0-9-]*)[^>]*>/g)) {
      const name = m[2].toLowerCase();
      if (VOID_TAGS.has(name) || m[0].endsWith('/>')) continue;
      if (m[1]) {
        const i = open.map((t) => t.name).lastIndexOf(name);
        if (i >= 0) open = open.slice(0, i);
      } else open = [...open, { name, raw: m[0] }];
    }
    const suffix = [...open]
      .reverse()
      .map((t) => `</${t.name}>`)
      .join('');
    return prefix + p + suffix;
  });
}

/** Markers in the order Telegram matches them (longest first). */
const MD_MARKERS: Record<'MarkdownV2' | 'Markdown', string[]> = {
  MarkdownV2: ['```', '||', '__', '*', '_', '~', '`'],
  Markdown: ['```', '*', '_', '`'],
};

/** Closes Markdown spans left open at the end of a part and reopens them in the next. */
function balanceMarkdown(parts: string[], mode: 'MarkdownV2' | 'Markdown'): string[] {
  const markers = MD_MARKERS[mode];
  let open: { marker: string; lang: string }[] = [];
  return parts.map((p) => {
    const prefix = open.map((o) => (o.marker === '```' ? `\`\`\`${o.lang}\n` : o.marker)).join('');
    let i = 0;
    while (i < p.length) {
      if (mode === 'MarkdownV2' && p[i] === '\\') {
        i += 2;
        continue;
      }
      const code = open.length > 0 && (open[open.length - 1].marker === '`' || open[open.length - 1].marker === '```');
      const m = markers.find((mk) => p.startsWith(mk, i));
      if (!m || (code && m !== open[open.length - 1].marker)) {
        i++;
        continue;
      }
      const top = open.length > 0 ? open[open.length - 1] : undefined;
      if (top?.marker === m) open = open.slice(0, -1);
      else if (open.some((o) => o.marker === m)) open = open.filter((o) => o.marker !== m);
      else {
        const lang = m === '```' ? (/^[^\s`]*/.exec(p.slice(i + 3))?.[0] ?? '') : '';
        open = [...open, { marker: m, lang }];
        i += lang.length;
      }
      i += m.length;
    }
    const suffix = [...open]
      .reverse()
      .map((o) => (o.marker === '```' ? '\n```' : o.marker))
      .join('');
    return prefix + p + suffix;
  });
}
