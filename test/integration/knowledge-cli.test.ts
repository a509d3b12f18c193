/** `wadi knowledge sync` as a user runs it, the sync at start and GET /admin/knowledge. */
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runWadi, tempDir } from '../helpers/cli.ts';
import { type TestDb, testDatabase } from '../helpers/db.ts';
import { writeSampleKnowledge } from '../helpers/documents.ts';
import { startTestWadi, TEST_ADMIN_KEY } from '../helpers/wadi.ts';

describe('wadi knowledge sync and GET /admin/knowledge', () => {
  let t: TestDb;
  let dir: string;
  beforeAll(async () => {
    t = await testDatabase('postgres');
    dir = tempDir('wadi-knowledge-cli-');
    await writeSampleKnowledge(dir);
  });
  afterAll(async () => {
    await t?.drop();
  });

  it('prints one line per file, skips unchanged files the second time, fails on a bad file', async () => {
    const env = { DATABASE_URL: t.url, KNOWLEDGE_DIR: dir, LOG_LEVEL: 'warn' };
    const first = await runWadi(['knowledge', 'sync'], { env, timeoutMs: 60_000 });
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout.split('\n').filter(Boolean)).toEqual([
      'added     carta/menu.docx (1 chunk)',
      'added     faq.md (2 chunks)',
      'added     horario.pdf (1 chunk)',
      'added     notas.txt (1 chunk)',
      '4 added, 0 updated, 0 unchanged, 0 removed, 0 failed',
    ]);
    const second = await runWadi(['knowledge', 'sync'], { env, timeoutMs: 60_000 });
    expect(second.code).toBe(0);
    expect(second.stdout).toContain('0 added, 0 updated, 4 unchanged, 0 removed, 0 failed');

    writeFileSync(path.join(dir, 'roto.pdf'), 'not a pdf');
    const third = await runWadi(['knowledge', 'sync'], { env, timeoutMs: 60_000 });
    expect(third.code).toBe(1);
    expect(third.stdout).toMatch(/^failed {4}roto\.pdf: cannot read PDF document/m);
    rmSync(path.join(dir, 'roto.pdf'));
  });

  it('refuses a missing or unset KNOWLEDGE_DIR with one line', async () => {
    const unset = await runWadi(['knowledge', 'sync'], { env: { DATABASE_URL: t.url } });
    expect(unset.code).toBe(1);
    expect(unset.stderr.trim()).toBe(
      'wadi: KNOWLEDGE_DIR is not set: point it at a folder of .md, .txt, .pdf or .docx files',
    );
    const missing = await runWadi(['knowledge', 'sync'], {
      env: { DATABASE_URL: t.url, KNOWLEDGE_DIR: path.join(dir, 'nope') },
    });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^wadi: cannot read KNOWLEDGE_DIR .*nope/);
  });

  it('a running WADI syncs at start; the admin API lists sources, chunks and the last sync', async () => {
    writeFileSync(path.join(dir, 'nuevo.md'), 'Aceptamos pagos con Bizum.');
    const w = await startTestWadi(t.database, {
      env: { KNOWLEDGE_DIR: dir, KNOWLEDGE_SYNC_SCHEDULE: 'off', WORKER_POLL_MS: '50' },
    });
    try {
      const get = () =>
        fetch(`${w.url}/admin/knowledge`, { headers: { 'x-admin-key': TEST_ADMIN_KEY } }).then(async (r) => ({
          status: r.status,
          body: (await r.json()) as Record<string, unknown>,
        }));
      let res = await get();
      for (let i = 0; i < 100 && (res.body.lastSync as { trigger?: string } | null)?.trigger !== 'start'; i++) {
        await new Promise((r) => setTimeout(r, 100));
        res = await get();
      }
      expect(res.status).toBe(200);
      expect(res.body.configured).toBe(true);
      expect((res.body.sources as { path: string }[]).map((s) => s.path)).toEqual([
        'carta/menu.docx',
        'faq.md',
        'horario.pdf',
        'notas.txt',
        'nuevo.md',
      ]);
      expect(res.body.totalChunks).toBe(6);
      expect(res.body.lastSync).toMatchObject({ trigger: 'start', added: 1, unchanged: 4, failed: 0, errors: [] });
      expect(w.logs.text()).toContain('knowledge: added     nuevo.md (1 chunk)');
      const anonymous = await fetch(`${w.url}/admin/knowledge`);
      expect(anonymous.status).toBe(401);
    } finally {
      await w.stop();
    }
  });

  it('a running WADI re-syncs on its schedule: new files appear, removed ones go, rewritten-but-equal ones are skipped', async () => {
    const w = await startTestWadi(t.database, {
      // Every second (croner's six-field form), so the test need not wait for a quarter hour.
      env: { KNOWLEDGE_DIR: dir, KNOWLEDGE_SYNC_SCHEDULE: '* * * * * *', WORKER_POLL_MS: '50' },
    });
    try {
      const get = async () =>
        (await (await fetch(`${w.url}/admin/knowledge`, { headers: { 'x-admin-key': TEST_ADMIN_KEY } })).json()) as {
          sources: { path: string }[];
          lastSync: { trigger: string; added: number; removed: number; unchanged: number; updated: number } | null;
        };
      const until = async <T>(what: string, fn: (b: Awaited<ReturnType<typeof get>>) => T | undefined) => {
        for (let i = 0; i < 300; i++) {
          const v = fn(await get());
          if (v) return v;
          await new Promise((r) => setTimeout(r, 100));
        }
        throw new Error(`timed out waiting for ${what}`);
      };
      await until('the start-up sync', (b) => b.lastSync?.trigger === 'start' || b.lastSync?.trigger === 'schedule');
      const faq = path.join(dir, 'faq.md');
      // Same bytes written again (atomically, so no sync reads half a file): a new mtime and inode,
      // the same content hash.
      writeFileSync(`${faq}.tmp`, readFileSync(faq));
      renameSync(`${faq}.tmp`, faq);
      rmSync(path.join(dir, 'nuevo.md'));
      writeFileSync(path.join(dir, 'envios.md'), 'Enviamos a toda España en 48 horas.');
      const last = await until('a scheduled sync that saw the changes', (b) =>
        b.lastSync?.trigger === 'schedule' && b.sources.some((s) => s.path === 'envios.md') ? b : undefined,
      );
      expect(last.sources.map((s) => s.path)).toEqual([
        'carta/menu.docx',
        'envios.md',
        'faq.md',
        'horario.pdf',
        'notas.txt',
      ]);
      // The change may span two scheduled runs; the log holds every run's lines.
      const log = w.logs.text();
      expect(log).toContain('knowledge: removed   nuevo.md');
      expect(log).toContain('knowledge: added     envios.md (1 chunk)');
      expect(log).toContain('knowledge: unchanged faq.md');
      expect(log).not.toContain('knowledge: updated   faq.md');
    } finally {
      await w.stop();
    }
  });
});
