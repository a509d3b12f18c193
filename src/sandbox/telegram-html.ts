/**
 * Telegram's HTML parse mode as the Bot API applies it (tdlib's parse_html), for the fake Bot API:
 * the supported tags only, attributes as Telegram reads them, `span` only as `tg-spoiler`, end
 * tags matching the innermost open tag, every tag closed, entities decoded (numeric ones and only
 * &lt; &gt; &amp; &quot;; any other `&` is a literal). A refusal carries Telegram's own wording,
 * which the fake returns as `Bad Request: can't parse entities: <reason>`.
 */

const TAGS = new Set([
  'a',
  'b',
  'strong',
  'i',
  'em',
  's',
  'strike',
  'del',
  'u',
  'ins',
  'tg-spoiler',
  'tg-emoji',
  'span',
  'pre',
  'code',
  'blockquote',
]);

const NAMED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"' };

/** The outcome of parsing: the visible text, or why Telegram refuses it. */
export type TelegramHtmlResult =
  | { readonly ok: true; readonly text: string }
  | { readonly ok: false; readonly error: string };

const isSpace = (c: string | undefined) => c === ' ' || c === '\n' || c === '\t' || c === '\r';

/** Byte offset (UTF-8) of a UTF-16 index, as Telegram reports positions. */
function byteOffset(s: string, i: number): number {
  return Buffer.byteLength(s.slice(0, i), 'utf8');
}

/** Decodes an entity at `i` (which is '&'); returns it and the index after it, or undefined. */
function entityAt(s: string, i: number): { value: string; end: number } | undefined {
  const m = /^&(#[xX][0-9a-fA-F]{1,8}|#[0-9]{1,10}|[a-zA-Z]{1,10});/.exec(s.slice(i, i + 16));
  if (!m) return undefined;
  const e = m[1];
  if (e.startsWith('#')) {
    const cp = e[1] === 'x' || e[1] === 'X' ? Number.parseInt(e.slice(2), 16) : Number.parseInt(e.slice(1), 10);
    if (!(cp > 0 && cp <= 0x10ffff) || (cp >= 0xd800 && cp <= 0xdfff)) return undefined;
    return { value: String.fromCodePoint(cp), end: i + m[0].length };
  }
  const named = NAMED[e];
  return named ? { value: named, end: i + m[0].length } : undefined;
}

/** Parses `html` the way Telegram does. */
export function parseTelegramHtml(html: string): TelegramHtmlResult {
  const text = html.trim();
  const open: string[] = [];
  let out = '';
  let i = 0;
  const fail = (error: string): TelegramHtmlResult => ({ ok: false, error });
  while (i < text.length) {
    const c = text[i];
    if (c === '&') {
      const e = entityAt(text, i);
      if (e) {
        out += e.value;
        i = e.end;
        continue;
      }
    }
    if (c !== '<') {
      out += c;
      i++;
      continue;
    }
    const begin = i;
    i++;
    if (text[i] !== '/') {
      const nameStart = i;
      while (i < text.length && !isSpace(text[i]) && text[i] !== '>') i++;
      if (i >= text.length) return fail(`Unclosed start tag at byte offset ${byteOffset(text, begin)}`);
      const name = text.slice(nameStart, i).toLowerCase();
      if (!TAGS.has(name)) return fail(`Unsupported start tag "${name}" at byte offset ${byteOffset(text, begin)}`);
      let spanClass: string | undefined;
      while (text[i] !== '>') {
        while (i < text.length && isSpace(text[i])) i++;
        if (text[i] === '>') break;
        const attrStart = i;
        while (i < text.length && !isSpace(text[i]) && !'=>/"\''.includes(text[i])) i++;
        const attr = text.slice(attrStart, i).toLowerCase();
        if (!attr) return fail(`Empty attribute name in the tag "${name}" at byte offset ${byteOffset(text, begin)}`);
        while (i < text.length && isSpace(text[i])) i++;
        if (text[i] !== '=') {
          if (i >= text.length) return fail(`Unclosed start tag "${name}" at byte offset ${byteOffset(text, begin)}`);
          continue;
        }
        i++;
        while (i < text.length && isSpace(text[i])) i++;
        if (i >= text.length) return fail(`Unclosed start tag "${name}" at byte offset ${byteOffset(text, begin)}`);
        let value = '';
        if (text[i] !== '"' && text[i] !== "'") {
          const tokenStart = i;
          while (i < text.length && /[A-Za-z0-9.-]/.test(text[i])) i++;
          value = text.slice(tokenStart, i).toLowerCase();
          if (i >= text.length || (!isSpace(text[i]) && text[i] !== '>')) {
            return fail(`Unexpected end of name token at byte offset ${byteOffset(text, tokenStart)}`);
          }
        } else {
          const quote = text[i++];
          while (i < text.length && text[i] !== quote) {
            const e = text[i] === '&' ? entityAt(text, i) : undefined;
            if (e) {
              value += e.value;
              i = e.end;
            } else value += text[i++];
          }
          if (text[i] === quote) i++;
        }
        if (i >= text.length) return fail(`Unclosed start tag at byte offset ${byteOffset(text, begin)}`);
        if (name === 'span' && attr === 'class') spanClass = value;
      }
      if (name === 'span' && spanClass !== 'tg-spoiler') {
        return fail(`Tag "span" must have class "tg-spoiler" at byte offset ${byteOffset(text, begin)}`);
      }
      open.push(name);
    } else {
      if (open.length === 0) return fail(`Unexpected end tag at byte offset ${byteOffset(text, begin)}`);
      const nameStart = i + 1;
      while (i < text.length && !isSpace(text[i]) && text[i] !== '>') i++;
      const endName = text.slice(nameStart, i).toLowerCase();
      while (i < text.length && isSpace(text[i])) i++;
      if (text[i] !== '>') return fail(`Unclosed end tag at byte offset ${byteOffset(text, begin)}`);
      const top = open[open.length - 1];
      if (endName && endName !== top) {
        return fail(
          `Unmatched end tag at byte offset ${byteOffset(text, begin)}, expected "</${top}>", found "</${endName}>"`,
        );
      }
      open.pop();
    }
    i++; // past '>'
  }
  if (open.length > 0) return fail(`Can't find end tag corresponding to start tag "${open[open.length - 1]}"`);
  return { ok: true, text: out.trim() };
}
