/**
 * The text rules WADI applies to what others wrote. There are three on purpose, from the least to
 * the most invasive, and each later one builds on the earlier:
 *
 * - `wellFormed`, and `storableString` in src/inbox/normalise.ts (the same repair with NUL dropped,
 *   kept there with its own fast path because it runs on the webhook path): inbound events are
 *   stored as the platform sent them but for what PostgreSQL refuses, so dedupe keys stay stable
 *   and the dashboard shows what the user really sent (control characters, `\r\n` and spacing kept).
 * - `cleanText` (tool arguments and results, knowledge search queries, the handoff reason): text
 *   WADI hands to the model or a search index; C0 controls carry nothing there and line ends are
 *   made uniform, but spacing is the writer's.
 * - `clean` in src/media/extract.ts (documents and knowledge files): text extracted from a file,
 *   where U+FFFD only marks bytes that did not decode and runs of blank lines and trailing spaces
 *   are layout noise of the extractor, so those go too.
 */

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** Well-formed UTF-16: each lone surrogate becomes U+FFFD, as any UTF-8 encoder would make it. */
export function wellFormed(text: string): string {
  return text.replace(LONE_SURROGATE, '\uFFFD');
}

/** Well-formed text without NUL or other C0 controls except tab and newlines; `\r\n` and `\r` become `\n`. */
export function cleanText(text: string): string {
  return wellFormed(text)
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g, '')
    .replace(/\r\n?/g, '\n');
}
