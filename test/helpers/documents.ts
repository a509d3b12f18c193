/**
 * Real documents built in tests: a valid PDF (one page per entry, standard Helvetica with
 * WinAnsiEncoding so Spanish accents survive, correct cross-reference table) and a DOCX (the
 * Office Open XML package Word writes, zipped with jszip).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import JSZip from 'jszip';

/** A PDF whose pages show `pages` (one string per page; lines split on \n). Latin-1 text only. */
export function makePdf(pages: readonly string[]): Buffer {
  const esc = (s: string) => s.replace(/[\\()]/g, (c) => `\\${c}`);
  const objects: string[] = [];
  const n = pages.length;
  // 1: catalog, 2: pages, 3: font, then page + content pairs.
  objects.push('<< /Type /Catalog /Pages 2 0 R >>');
  const kids = pages.map((_, i) => `${4 + i * 2} 0 R`).join(' ');
  objects.push(`<< /Type /Pages /Kids [${kids}] /Count ${n} >>`);
  objects.push('<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>');
  pages.forEach((text, i) => {
    const lines = text.split('\n');
    const ops = ['BT', '/F1 12 Tf', '14 TL', '72 720 Td', ...lines.map((l) => `(${esc(l)}) Tj T*`), 'ET'].join('\n');
    objects.push(
      `<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> /Contents ${5 + i * 2} 0 R >>`,
    );
    objects.push(`<< /Length ${Buffer.byteLength(ops, 'latin1')} >>\nstream\n${ops}\nendstream`);
  });
  let out = '%PDF-1.4\n';
  const offsets: number[] = [];
  objects.forEach((body, i) => {
    offsets.push(Buffer.byteLength(out, 'latin1'));
    out += `${i + 1} 0 obj\n${body}\nendobj\n`;
  });
  const xref = Buffer.byteLength(out, 'latin1');
  out += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  for (const o of offsets) out += `${String(o).padStart(10, '0')} 00000 n \n`;
  out += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(out, 'latin1');
}

/** A DOCX with one paragraph per entry of `paragraphs`. */
export async function makeDocx(paragraphs: readonly string[]): Promise<Buffer> {
  const x = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const zip = new JSZip();
  zip.file(
    '[Content_Types].xml',
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>',
  );
  zip.file(
    '_rels/.rels',
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>',
  );
  zip.file(
    'word/document.xml',
    `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>${paragraphs
      .map((p) => `<w:p><w:r><w:t xml:space="preserve">${x(p)}</w:t></w:r></w:p>`)
      .join('')}</w:body></w:document>`,
  );
  return zip.generateAsync({ type: 'nodebuffer' });
}

/** The sample folder: the Sunday hours are only in the PDF. */
export async function writeSampleKnowledge(dir: string): Promise<void> {
  writeFileSync(
    path.join(dir, 'faq.md'),
    '# Envíos\n\nEnviamos a toda la península en 48 horas.\n\n# Devoluciones\n\nTienes 30 días para devolver un pedido.',
  );
  writeFileSync(path.join(dir, 'notas.txt'), 'Aparcamiento gratuito para clientes en la calle Mayor.');
  writeFileSync(
    path.join(dir, 'horario.pdf'),
    makePdf([
      'Horario de la tienda',
      'De lunes a sábado abrimos de 9:00 a 21:00.\nLos domingos abrimos de 10:00 a 14:00.',
    ]),
  );
  mkdirSync(path.join(dir, 'carta'));
  writeFileSync(
    path.join(dir, 'carta', 'menu.docx'),
    await makeDocx(['Menú del día', 'Paella valenciana por 14 euros.']),
  );
  // Hidden files and unknown extensions are not knowledge.
  writeFileSync(path.join(dir, '.secret.md'), 'the admin password is hunter2');
  writeFileSync(path.join(dir, 'logo.png'), Buffer.from([0x89, 0x50, 0x4e, 0x47]));
}
