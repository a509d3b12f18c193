/** Knowledge sync and full-text search on PGlite and PostgreSQL: a real folder of documents. */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { searchKnowledge } from '../../src/knowledge/search.ts';
import { knowledgeStatus } from '../../src/knowledge/status.ts';
import { KnowledgeDirError, type SyncProgress, syncKnowledge } from '../../src/knowledge/sync.ts';
import { tempDir } from '../helpers/cli.ts';
import { backends, type TestDb, testDatabase } from '../helpers/db.ts';
import { writeSampleKnowledge } from '../helpers/documents.ts';

describe.each(backends())('knowledge on %s', (backend) => {
  // One database per backend for the file (PGlite takes seconds to start); emptied between tests.
  let t: TestDb;
  beforeAll(async () => {
    t = await testDatabase(backend);
    // PGlite starts slowly on a busy machine.
  }, 180_000);
  afterAll(async () => {
    await t?.drop();
  });
  beforeEach(async () => {
    await t.database.query('delete from knowledge_sources');
    await t.database.query('delete from knowledge_syncs');
  });

  const sync = (dir: string, language: 'spanish' | 'english' = 'spanish') => {
    const progress: SyncProgress[] = [];
    const run = syncKnowledge({
      database: t.database,
      dir,
      language,
      maxFileBytes: 1_000_000,
      trigger: 'test',
      onProgress: (p) => progress.push(p),
    });
    return run.then((summary) => ({ summary, progress }));
  };

  it('syncs Markdown, text, PDF and DOCX, finds the PDF-only fact, skips unchanged files, drops removed ones', async () => {
    const dir = tempDir('wadi-knowledge-');
    await writeSampleKnowledge(dir);

    const first = await sync(dir);
    expect(first.progress.map((p) => `${p.outcome} ${p.path}`)).toEqual([
      'added carta/menu.docx',
      'added faq.md',
      'added horario.pdf',
      'added notas.txt',
    ]);
    expect(first.summary).toMatchObject({ added: 4, failed: 0 });

    const hits = await searchKnowledge(t.database, { query: '¿Abren el domingo?', language: 'spanish' });
    expect(hits[0].source).toBe('horario.pdf');
    expect(hits[0].text).toContain('Los domingos abrimos de 10:00 a 14:00');
    expect((await searchKnowledge(t.database, { query: 'paella', language: 'spanish' }))[0].source).toBe(
      'carta/menu.docx',
    );
    expect(await searchKnowledge(t.database, { query: 'hunter2 password', language: 'spanish' })).toEqual([]);

    const second = await sync(dir);
    expect(second.summary).toMatchObject({ added: 0, updated: 0, unchanged: 4, removed: 0 });

    writeFileSync(path.join(dir, 'faq.md'), '# Envíos\n\nAhora enviamos también a Canarias.');
    rmSync(path.join(dir, 'notas.txt'));
    const third = await sync(dir);
    expect(third.progress.filter((p) => p.outcome !== 'unchanged').map((p) => `${p.outcome} ${p.path}`)).toEqual([
      'updated faq.md',
      'removed notas.txt',
    ]);
    expect(await searchKnowledge(t.database, { query: 'aparcamiento', language: 'spanish' })).toEqual([]);
    expect((await searchKnowledge(t.database, { query: 'Canarias', language: 'spanish' }))[0].source).toBe('faq.md');
    expect(await searchKnowledge(t.database, { query: 'devoluciones', language: 'spanish' })).toEqual([]);

    const status = await knowledgeStatus(t.database);
    expect(status.sources.map((s) => s.path)).toEqual(['carta/menu.docx', 'faq.md', 'horario.pdf']);
    expect(status.totalChunks).toBe(status.sources.reduce((n, s) => n + s.chunks, 0));
    expect(status.lastSync).toMatchObject({ trigger: 'test', updated: 1, removed: 1, unchanged: 2 });
  });

  it('reports a file it cannot read, keeps its previous version and the rest of the folder', async () => {
    const dir = tempDir('wadi-knowledge-');
    await writeSampleKnowledge(dir);
    await sync(dir);
    writeFileSync(path.join(dir, 'horario.pdf'), 'this is not a PDF');
    writeFileSync(path.join(dir, 'roto.docx'), 'nor is this a DOCX');
    writeFileSync(path.join(dir, 'grande.txt'), 'x'.repeat(1_000_001));
    const { summary, progress } = await sync(dir);
    expect(summary.failed).toBe(3);
    expect(progress.find((p) => p.path === 'roto.docx')?.error).toMatch(/cannot read DOCX/);
    expect(progress.find((p) => p.path === 'grande.txt')?.error).toMatch(/limit/);
    // The PDF that went bad keeps its last good version: the Sunday hours are still found.
    expect((await searchKnowledge(t.database, { query: 'domingos', language: 'spanish' }))[0].source).toBe(
      'horario.pdf',
    );
    const status = await knowledgeStatus(t.database);
    expect(status.lastSync?.errors.map((e) => e.path).sort()).toEqual(['grande.txt', 'horario.pdf', 'roto.docx']);
  });

  it('stores hostile text (NUL, lone surrogates, binary, deep nesting of folders) and searches hostile queries safely', async () => {
    const dir = tempDir('wadi-knowledge-');
    writeFileSync(path.join(dir, 'raro.txt'), 'horario\u0000 especial \ud800 del 🎉 festival \udfff');
    writeFileSync(
      path.join(dir, 'binario.txt'),
      Buffer.from([0xff, 0xfe, 0x00, 0x01, 0xc3, 0x28, 0x66, 0x65, 0x72, 0x69, 0x61]),
    );
    const deep = path.join(dir, ...Array.from({ length: 30 }, (_, i) => `d${i}`));
    mkdirSync(deep, { recursive: true });
    writeFileSync(path.join(deep, 'hondo.md'), 'El secreto del pozo profundo.');
    const { summary } = await sync(dir);
    expect(summary).toMatchObject({ added: 3, failed: 0 });
    expect((await searchKnowledge(t.database, { query: 'festival', language: 'spanish' }))[0].source).toBe('raro.txt');
    expect((await searchKnowledge(t.database, { query: 'pozo profundo', language: 'spanish' }))[0].source).toMatch(
      /hondo\.md$/,
    );
    for (const q of [
      "'; drop table knowledge_chunks; --",
      '\u0000\ud800',
      '& | ! <-> :*',
      '',
      '🎉🎉',
      'a'.repeat(5000),
    ]) {
      await expect(searchKnowledge(t.database, { query: q, language: 'spanish' })).resolves.toBeInstanceOf(Array);
    }
    expect((await knowledgeStatus(t.database)).sources).toHaveLength(3);
  });

  it('re-indexes every file when the language changes, and stems English', async () => {
    const dir = tempDir('wadi-knowledge-');
    writeFileSync(path.join(dir, 'hours.md'), 'We are opening on Sundays from ten to two.');
    await sync(dir, 'spanish');
    const { summary } = await sync(dir, 'english');
    expect(summary).toMatchObject({ updated: 1, unchanged: 0 });
    expect(
      (await searchKnowledge(t.database, { query: 'Are you open on Sunday?', language: 'english' }))[0].source,
    ).toBe('hours.md');
  });

  it('refuses a missing folder with a clear error and changes nothing', async () => {
    const dir = tempDir('wadi-knowledge-');
    await writeSampleKnowledge(dir);
    await sync(dir);
    await expect(sync(path.join(dir, 'nope'))).rejects.toBeInstanceOf(KnowledgeDirError);
    expect((await knowledgeStatus(t.database)).sources).toHaveLength(4);
  });
});
