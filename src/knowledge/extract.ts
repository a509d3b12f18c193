/**
 * Text out of the operator's documents: Markdown and plain text as they are, PDF through unpdf
 * (Mozilla's pdf.js, serverless build) and DOCX through mammoth. The only file of the knowledge
 * feature that imports the extractors. Text comes back well-formed (lone surrogates replaced, NUL
 * removed: PostgreSQL text cannot hold U+0000).
 */
import path from 'node:path';
import mammoth from 'mammoth';
import { getDocumentProxy, extractText as pdfText } from 'unpdf';
import { cleanText } from './text.ts';

/** File extensions the knowledge sync reads, lower case. */
export const KNOWLEDGE_EXTENSIONS = ['.md', '.markdown', '.txt', '.pdf', '.docx'] as const;

/** A document that could not be read (corrupt PDF, not a DOCX…): the file is reported and skipped. */
export class ExtractionError extends Error {
  readonly code = 'KNOWLEDGE_EXTRACTION_FAILED';
  constructor(message: string, opts: { cause?: unknown } = {}) {
    super(message, { cause: opts.cause });
    this.name = 'ExtractionError';
  }
}

/** True when the sync reads files with this name. */
export function isKnowledgeFile(name: string): boolean {
  return (KNOWLEDGE_EXTENSIONS as readonly string[]).includes(path.extname(name).toLowerCase());
}

/** The text of one document, chosen by its extension. */
export async function extractDocumentText(name: string, bytes: Uint8Array): Promise<string> {
  const ext = path.extname(name).toLowerCase();
  let text: string;
  try {
    if (ext === '.pdf') {
      // verbosity 0: pdf.js would otherwise print warnings about odd files on the console.
      const doc = await getDocumentProxy(new Uint8Array(bytes), { verbosity: 0 });
      try {
        text = (await pdfText(doc, { mergePages: false })).text.join('\n\n');
      } finally {
        await doc.destroy().catch(() => {});
      }
    } else if (ext === '.docx') {
      text = (await mammoth.extractRawText({ buffer: Buffer.from(bytes) })).value;
    } else {
      text = new TextDecoder('utf-8', { fatal: false }).decode(bytes);
    }
  } catch (err) {
    throw new ExtractionError(`cannot read ${ext.slice(1).toUpperCase()} document: ${(err as Error).message}`, {
      cause: err,
    });
  }
  return cleanText(text);
}
