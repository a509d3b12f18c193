/**
 * Telegram HTML → the plain text a user should read when Telegram refuses the markup: tags
 * dropped, a link's target kept after its text, the entities Telegram decodes decoded (so
 * `&lt;` shows as `<`, as it would have in the formatted message).
 */

const NAMED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"' };

/** Decodes the entities Telegram's HTML parser decodes (numeric, &lt; &gt; &amp; &quot;). */
export function decodeTelegramEntities(s: string): string {
  return s.replace(/&(#[xX][0-9a-fA-F]{1,6}|#[0-9]{1,7}|lt|gt|amp|quot);/g, (m, e: string) => {
    if (!e.startsWith('#')) return NAMED[e] ?? m;
    const cp = e[1] === 'x' || e[1] === 'X' ? Number.parseInt(e.slice(2), 16) : Number.parseInt(e.slice(1), 10);
    return cp > 0 && cp <= 0x10ffff && (cp < 0xd800 || cp > 0xdfff) ? String.fromCodePoint(cp) : m;
  });
}

/** The visible text of a Telegram HTML message. */
export function telegramHtmlToPlain(html: string): string {
  let out = '';
  const hrefs: (string | undefined)[] = [];
  let last = 0;
  for (const m of html.matchAll(/<(\/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s[^>]*)?)>/g)) {
    out += decodeTelegramEntities(html.slice(last, m.index));
    last = m.index + m[0].length;
    if (m[2].toLowerCase() !== 'a') continue;
    if (!m[1]) {
      const href = /href\s*=\s*("([^"]*)"|'([^']*)'|([^\s>]+))/i.exec(m[3] ?? '');
      hrefs.push(href ? decodeTelegramEntities(href[2] ?? href[3] ?? href[4] ?? '') : undefined);
    } else {
      const href = hrefs.pop();
      if (href) out += ` (${href})`;
    }
  }
  out += decodeTelegramEntities(html.slice(last));
  return out.trim();
}
