/**
 * `wadi simulate whatsapp|telegram --voice|--image|--document FILE [TEXT]` against a running
 * sandbox WADI (`wadi start`, the offline assistant, the fake transcriber): the file goes through
 * the sandbox media store, the worker fetches and understands it, the CLI prints the reply.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, runWadi, spawnWadi, tempDir, type WadiProcess, waitFor } from '../helpers/cli.ts';
import { createPostgresDatabase, postgresUrl } from '../helpers/db.ts';
import { makePdf } from '../helpers/media-fixtures.ts';

describe.runIf(postgresUrl())('wadi simulate with media', () => {
  let db: Awaited<ReturnType<typeof createPostgresDatabase>>;
  let server: WadiProcess;
  let base: string;
  const dir = tempDir('wadi-media-');
  beforeAll(async () => {
    db = await createPostgresDatabase();
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    server = spawnWadi(['start'], {
      env: { DATABASE_URL: db.url, PORT: String(port), TELEGRAM_MODE: 'webhook', COALESCE_DEBOUNCE_MS: '100' },
    });
    await waitFor(`${base}/health/ready`, { timeoutMs: 90_000 });
  }, 120_000);
  afterAll(async () => {
    server?.child.kill('SIGTERM');
    await server?.exited;
    await db?.drop();
  });

  it('a WhatsApp voice note is transcribed and answered', async () => {
    const file = path.join(dir, 'nota.ogg');
    writeFileSync(file, 'necesito una cita para el martes');
    const r = await runWadi(
      ['simulate', 'whatsapp', '--voice', file, '--from', '34622000001', '--url', base, '--timeout', '60'],
      {
        timeoutMs: 100_000,
      },
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('→ 34622000001: [voice: nota.ogg, 32 bytes]');
    // The offline assistant repeats what it understood: the transcript.
    expect(r.stdout).toContain('necesito una cita para el martes');
  }, 120_000);

  it('a Telegram document with a caption is read and answered', async () => {
    const file = path.join(dir, 'menu.pdf');
    writeFileSync(file, makePdf(['Menú del día: lentejas y flan']));
    const r = await runWadi(
      ['simulate', 'telegram', '¿qué hay hoy?', '--document', file, '--url', base, '--timeout', '60'],
      {
        timeoutMs: 100_000,
      },
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Menú del día: lentejas y flan');
    expect(r.stdout).toContain('¿qué hay hoy?');
  }, 120_000);

  it('refuses two media flags and a missing file with one clear line, sending nothing', async () => {
    const two = await runWadi(['simulate', 'whatsapp', '--voice', 'a.ogg', '--image', 'b.jpg', '--url', base]);
    expect(two.code).toBe(1);
    expect(two.stderr).toContain('give at most one of --voice, --image, --document');
    const missing = await runWadi(['simulate', 'telegram', '--image', path.join(dir, 'nope.jpg'), '--url', base]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('cannot read');
    const none = await runWadi(['simulate', 'whatsapp', '--url', base]);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('give a TEXT');
  }, 120_000);
});
