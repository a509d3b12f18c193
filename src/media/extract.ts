/**
 * Text out of documents: PDF with unpdf (a serverless build of Mozilla's PDF.js), DOCX with
 * mammoth, and plain text, Markdown and CSV decoded as UTF-8. The result is cleaned (control
 * characters and lone surrogates removed) and cut at `maxChars`; PDF pages are read only until
 * the limit is reached. Anything else is `unsupported`.
 */
import { cleanText } from '../kernel/text.ts';
import { MediaError } from './errors.ts';

/** The document formats WADI reads. */
export type DocumentFormat = 'pdf' | 'docx' | 'text';

/** Extracted text. */
export interface ExtractedText {
  readonly format: DocumentFormat;
  readonly text: string;
  /** True when the document had more text than `maxChars`. */
  readonly truncated: boolean;
}

/** Human list of what is supported, for the notice. */
export const SUPPORTED_DOCUMENTS = 'PDF, DOCX, TXT, Markdown, CSV';

const TEXT_TYPES = new Set([
  'text/plain',
  'text/markdown',
  'text/x-markdown',
  'text/csv',
  'text/tab-separated-values',
  'application/csv',
]);
const TEXT_EXT = /\.(txt|text|md|markdown|csv|tsv|log)$/i;
const DOCX_TYPE = 'application/vnd.openxmlformats-officedocument.wordprocessingml.document';

/** Which reader fits, from the mime type, the file name and the first bytes; undefined if none. */
export function documentFormat(bytes: Buffer, mimeType?: string, fileName?: string): DocumentFormat | undefined {
  const mime = mimeType?.split(';')[0].trim().toLowerCase();
  const zip = bytes.length >= 4 && bytes.readUInt32LE(0) === 0x04034b50;
  if (bytes.subarray(0, 5).toString('latin1') === '%PDF-') return 'pdf';
  if (mime === DOCX_TYPE || (/\.docx$/i.test(fileName ?? '') && zip)) return zip ? 'docx' : undefined;
  if ((mime && TEXT_TYPES.has(mime)) || TEXT_EXT.test(fileName ?? '')) return 'text';
  return undefined;
}

/**
 * Extracts up to `maxChars` characters; throws MediaError('unsupported') when it cannot (and, unless
 * `allowEmpty`, when the document holds no text). Used for media documents and the knowledge folder.
 */
export async function extractDocument(
  bytes: Buffer,
  opts: { mimeType?: string; fileName?: string; maxChars: number; allowEmpty?: boolean },
): Promise<ExtractedText> {
  const format = documentFormat(bytes, opts.mimeType, opts.fileName);
  if (!format) throw new MediaError('unsupported', `documents of type ${opts.mimeType ?? 'unknown'} are not read`);
  let raw: string;
  try {
    if (format === 'pdf') raw = await pdfText(bytes, opts.maxChars);
    else if (format === 'docx') raw = await docxText(bytes);
    else raw = new TextDecoder('utf-8', { fatal: false, ignoreBOM: false }).decode(bytes);
  } catch (err) {
    if (err instanceof MediaError) throw err;
    throw new MediaError('unsupported', `the ${format} file could not be read (${(err as Error).name})`);
  }
  const text = clean(raw);
  if (!text && !opts.allowEmpty) throw new MediaError('unsupported', `the ${format} file has no text`);
  const truncated = text.length > opts.maxChars;
  return { format, text: truncated ? cut(text, opts.maxChars) : text, truncated };
}

/**
 * The extractors load with the first document of their kind: mammoth alone adds ~20 MB to a
 * process's RSS, which a deployment whose users send no documents should not pay.
 */
async function docxText(bytes: Buffer): Promise<string> {
  const { default: mammoth } = await import('mammoth');
  return (await mammoth.extractRawText({ buffer: bytes })).value;
}

async function pdfText(bytes: Buffer, maxChars: number): Promise<string> {
  const { getDocumentProxy } = await import('unpdf');
  // PDF.js takes ownership of the array it is given: pass a copy.
  const pdf = await getDocumentProxy(new Uint8Array(bytes), { isEvalSupported: false, stopAtErrors: false });
  try {
    const pages: string[] = [];
    let length = 0;
    for (let i = 1; i <= pdf.numPages && length <= maxChars; i++) {
      const page = await pdf.getPage(i);
      const content = await page.getTextContent();
      let line = '';
      for (const item of content.items) {
        if (!('str' in item)) continue;
        line += item.str;
        if (item.hasEOL) line += '\n';
      }
      pages.push(line);
      length += line.length + 2;
      page.cleanup();
    }
    return pages.join('\n\n');
  } finally {
    await pdf.destroy();
  }
}

/** Drops control characters (keeping tabs and newlines) and lone surrogates; trims blank runs. */
export function clean(s: string): string {
  // cleanText (src/kernel/text.ts) plus the document-only rules: U+FFFD (a lone surrogate, or bytes
  // that did not decode) is dropped, trailing spaces and runs of blank lines are folded, ends trimmed.
  return cleanText(s)
    .replace(/\uFFFD/g, '')
    .replace(/[ \t]+\n/g, '\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

/** Cuts at `max` characters without splitting a surrogate pair. */
function cut(s: string, max: number): string {
  let end = max;
  const c = s.charCodeAt(end - 1);
  if (c >= 0xd800 && c <= 0xdbff) end--;
  return s.slice(0, end);
}
