/**
 * Splits a document's text into chunks for full-text search: paragraphs packed up to a size
 * limit, Markdown headings carried into every chunk under them (so "Horario" stays attached to
 * the hours below it), over-long paragraphs cut at sentence ends, then at spaces, then hard.
 */

/** Chunking limits. */
export interface ChunkOptions {
  /** Most characters in one chunk (default 1200). */
  readonly maxChars?: number;
}

const DEFAULT_MAX = 1200;

/** The chunks of `text`, in document order, none empty and none longer than `maxChars`. */
export function chunkText(text: string, opts: ChunkOptions = {}): string[] {
  const max = Math.max(opts.maxChars ?? DEFAULT_MAX, 100);
  const chunks: string[] = [];
  let heading = '';
  let current = '';
  const flush = () => {
    const body = current.trim();
    if (body) chunks.push(body);
    current = '';
  };
  const add = (piece: string) => {
    if (current && current.length + piece.length + 2 > max) flush();
    current = current ? `${current}\n\n${piece}` : heading ? `${heading}\n${piece}` : piece;
  };
  for (const block of text.split(/\n\s*\n/)) {
    const para = block.trim();
    if (!para) continue;
    const h = /^(#{1,6})\s+(.+)$/.exec(para.split('\n')[0]);
    if (h) {
      flush();
      heading = h[2].trim().slice(0, 200);
      const rest = para.split('\n').slice(1).join('\n').trim();
      if (rest) for (const piece of pieces(rest, max - heading.length - 1)) add(piece);
      continue;
    }
    for (const piece of pieces(para, max - heading.length - 1)) add(piece);
  }
  flush();
  return chunks;
}

/** A paragraph cut into pieces of at most `max` characters, at sentence ends or spaces if possible. */
function pieces(para: string, max: number): string[] {
  const limit = Math.max(max, 50);
  if (para.length <= limit) return [para];
  const out: string[] = [];
  let rest = para;
  while (rest.length > limit) {
    const window = rest.slice(0, limit);
    let cut = Math.max(window.lastIndexOf('. '), window.lastIndexOf('? '), window.lastIndexOf('! '));
    if (cut < limit / 2) cut = window.lastIndexOf(' ');
    if (cut < limit / 4) cut = limit - 1;
    // Never split a surrogate pair.
    const code = rest.charCodeAt(cut);
    if (code >= 0xd800 && code <= 0xdbff) cut -= 1;
    out.push(rest.slice(0, cut + 1).trim());
    rest = rest.slice(cut + 1).trimStart();
  }
  if (rest.trim()) out.push(rest.trim());
  return out.filter(Boolean);
}
