import { describe, expect, it } from 'vitest';
import { makeDocx, makePdf } from '../../test/helpers/documents.ts';
import { cleanText } from '../kernel/text.ts';
import { chunkText } from './chunk.ts';
import { ExtractionError, extractDocumentText } from './extract.ts';

describe('document extraction', () => {
  it('reads PDF pages, DOCX paragraphs, Markdown and text', async () => {
    const pdf = await extractDocumentText(
      'horario.PDF',
      makePdf(['Horario de invierno', 'Los domingos abrimos de 10:00 a 14:00.']),
    );
    expect(pdf).toContain('Horario de invierno');
    expect(pdf).toContain('Los domingos abrimos de 10:00 a 14:00.');
    const docx = await extractDocumentText('menu.docx', await makeDocx(['Menú del día', 'Paella valenciana: 14 €']));
    expect(docx).toContain('Menú del día');
    expect(docx).toContain('Paella valenciana: 14 €');
    expect(await extractDocumentText('a.md', Buffer.from('# Título\n\nTexto ñ 🎉'))).toBe('# Título\n\nTexto ñ 🎉');
  });

  it('refuses a corrupt PDF or DOCX with a clear error', async () => {
    await expect(extractDocumentText('bad.pdf', Buffer.from('not a pdf at all'))).rejects.toBeInstanceOf(
      ExtractionError,
    );
    await expect(extractDocumentText('bad.docx', Buffer.from('PK\u0003\u0004garbage'))).rejects.toThrow(
      /cannot read DOCX/,
    );
  });

  it('makes hostile text storable: NUL, controls and lone surrogates go, emoji stay', () => {
    expect(cleanText('a\u0000b\u0007c\r\nd \ud800 e \udc00 🎉')).toBe('abc\nd \ufffd e \ufffd 🎉');
  });
});

describe('chunking', () => {
  it('keeps headings with their paragraphs and respects the size limit', () => {
    const text = `# Horario\n\n${'Abrimos de lunes a viernes. '.repeat(80)}\n\n# Envíos\n\nEnviamos a toda España.`;
    const chunks = chunkText(text, { maxChars: 500 });
    expect(chunks.length).toBeGreaterThan(3);
    for (const c of chunks) expect(c.length).toBeLessThanOrEqual(500);
    expect(chunks.filter((c) => c.startsWith('Horario\n')).length).toBe(chunks.length - 1);
    expect(chunks.at(-1)).toBe('Envíos\nEnviamos a toda España.');
  });

  it('never splits a surrogate pair and never yields empty chunks', () => {
    const chunks = chunkText('🎉'.repeat(400), { maxChars: 101 });
    for (const c of chunks) {
      expect(c.length).toBeGreaterThan(0);
      expect(cleanText(c)).toBe(c);
    }
    expect(chunks.join('')).toBe('🎉'.repeat(400));
    expect(chunkText('\n\n  \n')).toEqual([]);
  });
});
