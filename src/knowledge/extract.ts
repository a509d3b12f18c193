/**
 * Text out of the operator's documents, with the same extractors as documents users send
 * (src/media/extract.ts: unpdf for PDF, mammoth for DOCX, UTF-8 for Markdown and text), cleaned so
 * PostgreSQL can store it. This file only decides which files the sync reads and names failures.
 */
import path from 'node:path';
import { extractDocument } from '../media/extract.ts';

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

/** The whole text of one document (the sync caps file sizes, not characters); empty files give ''. */
export async function extractDocumentText(name: string, bytes: Uint8Array): Promise<string> {
  const ext = path.extname(name).toLowerCase();
  try {
    const doc = await extractDocument(Buffer.from(bytes), {
      fileName: name,
      maxChars: Number.MAX_SAFE_INTEGER,
      allowEmpty: true,
    });
    return doc.text;
  } catch (err) {
    throw new ExtractionError(`cannot read ${ext.slice(1).toUpperCase()} document: ${(err as Error).message}`, {
      cause: err,
    });
  }
}
