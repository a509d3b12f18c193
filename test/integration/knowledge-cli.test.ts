/** `wadi knowledge sync` as a user runs it, the sync at start and GET /admin/knowledge. */
import { rmSync, writeFileSync } from 'node:fs';
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
      'added     carta/menu.docx (1 chunks)',
      'added     faq.md (2 chunks)',
      'added     horario.pdf (1 chunks)',
      'added     notas.txt (1 chunks)',
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
      expect(w.logs.text()).toContain('knowledge: added     nuevo.md (1 chunks)');
      const anonymous = await fetch(`${w.url}/admin/knowledge`);
      expect(anonymous.status).toBe(401);
    } finally {
      await w.stop();
    }
  });
});
