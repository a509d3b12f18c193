/**
 * Splits a long reply into parts no longer than a platform limit, preferring paragraph, then
 * sentence, then word boundaries. It never cuts inside a word that fits, a URL that fits, or a
 * surrogate pair (an emoji), and joining the parts with the separators they were cut at gives
 * back the original text. Lengths are measured by `measure` (UTF-16 units by default: what both
 * WhatsApp's 4096 and Telegram's 4096 count).
 */

/** How to split. */
export interface SplitOptions {
  readonly limit: number;
  readonly measure?: (s: string) => number;
  /**
   * Keep the indentation of the line a part starts with (code blocks): only the blank lines at
   * the cut are dropped. Default: every blank at the cut is dropped.
   */
  readonly keepIndent?: boolean;
}

const utf16 = (s: string) => s.length;

/**
 * Returns the parts, each trimmed of the whitespace it was split at; a text within the limit comes
 * back whole. Whitespace-only text gives no parts.
 */
export function splitText(text: string, opts: SplitOptions): string[] {
  const measure = opts.measure ?? utf16;
  const parts: string[] = [];
  let rest = text.trim();
  while (rest.length > 0) {
    if (measure(rest) <= opts.limit) {
      parts.push(rest);
      break;
    }
    const cut = findCut(rest, opts.limit, measure);
    parts.push(rest.slice(0, cut).trimEnd());
    rest = opts.keepIndent ? dropBlankLines(rest.slice(cut), rest[cut - 1] === '\n') : rest.slice(cut).trimStart();
  }
  return parts.filter((p) => p.length > 0);
}

/**
 * Drops the blank lines at the start of `s` but keeps the indentation of its first line; a part
 * cut mid-line (`atLineStart` false, no newline in the blanks) loses its leading blanks.
 */
function dropBlankLines(s: string, atLineStart: boolean): string {
  const lead = /^\s*/.exec(s)?.[0] ?? '';
  const nl = lead.lastIndexOf('\n');
  if (nl >= 0) return s.slice(nl + 1);
  return atLineStart ? s : s.slice(lead.length);
}

/** The largest index ≤ the limit at the best available boundary. */
function findCut(text: string, limit: number, measure: (s: string) => number): number {
  // The longest prefix that fits, found by measure (which may not be UTF-16 length).
  let max = Math.min(text.length, limit);
  while (max > 0 && measure(text.slice(0, max)) > limit) max--;
  if (max <= 0) return safeIndex(text, 1);
  const window = text.slice(0, max);
  const minUseful = Math.floor(max * 0.3); // do not make tiny parts just to hit a boundary

  // First a boundary that leaves a reasonably full part; failing that, any boundary at all, since
  // a short part beats a word or URL cut in two.
  for (const floor of [minUseful, 0]) {
    for (const boundary of [/\n\s*\n/g, /\n/g, /[.!?…。](?=\s)/g, /\s/g]) {
      let best = -1;
      for (const m of window.matchAll(boundary)) {
        const end = m.index + m[0].length;
        if (end <= max && end > floor && !insideUrl(text, end)) best = end;
      }
      if (best > 0) return best;
    }
  }
  // One unbroken run longer than the limit (a huge word or URL): cut it, but never mid-pair.
  return safeIndex(text, max);
}

/** Moves `i` back off the low half of a surrogate pair. */
function safeIndex(text: string, i: number): number {
  if (i <= 0 || i >= text.length) return Math.max(1, i);
  const code = text.charCodeAt(i);
  return code >= 0xdc00 && code <= 0xdfff ? i - 1 : i;
}

/** True if position `i` falls inside an http(s) URL. */
function insideUrl(text: string, i: number): boolean {
  const start = Math.max(0, i - 2048);
  const before = text.slice(start, i);
  const m = /https?:\/\/\S*$/.exec(before);
  if (!m) return false;
  // The URL continues past i only if the next character is not whitespace.
  return i < text.length && !/\s/.test(text[i]);
}
