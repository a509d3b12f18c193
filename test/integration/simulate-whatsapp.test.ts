import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SANDBOX_CREDENTIALS } from '../../src/config/config.ts';
import { type Database, openDatabase } from '../../src/db/client.ts';
import { freePort, runWadi, spawnWadi, tempDir, type WadiProcess, waitFor } from '../helpers/cli.ts';
import { createPostgresDatabase, postgresUrl } from '../helpers/db.ts';

// `--role web`: no worker answers, so the only reply is the one this test sends through the fake,
// whatever conversation engine the build contains.
describe.runIf(postgresUrl())('wadi simulate whatsapp against a running WADI', () => {
  let db: Awaited<ReturnType<typeof createPostgresDatabase>>;
  let server: WadiProcess;
  let database: Database;
  let base: string;
  beforeAll(async () => {
    db = await createPostgresDatabase();
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    server = spawnWadi(['start', '--role', 'web'], { env: { DATABASE_URL: db.url, PORT: String(port) } });
    await waitFor(`${base}/health/ready`, { timeoutMs: 60_000 });
    database = await openDatabase({ url: db.url, poolSize: 1 });
  }, 90_000);
  afterAll(async () => {
    server?.child.kill('SIGTERM');
    await server?.exited;
    await database?.close();
    await db?.drop();
  });

  const storedText = async (from: string) =>
    (
      await database.query<{ text: string }>(
        "select event->>'text' as text from inbox_messages where channel = 'whatsapp' and chat_id = $1",
        [from],
      )
    ).rows.map((r) => r.text);

  it('signs the message like Meta, stores it, and prints the reply sent to that user', async () => {
    const from = '5215500000001';
    const text = 'hola, ¿qué tal? ñandú 😀';
    const run = runWadi(['simulate', 'whatsapp', text, '--from', from, '--url', base, '--timeout', '60'], {
      cwd: tempDir(),
      timeoutMs: 100_000,
    });
    // Play the conversation engine: once the message is stored, reply through the fake Graph API.
    const deadline = Date.now() + 80_000; // the CLI itself can take a while to start on a busy machine
    while ((await storedText(from)).length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(await storedText(from)).toEqual([text]);
    const send = await fetch(`${base}/sandbox/graph/v24.0/${SANDBOX_CREDENTIALS.whatsappPhoneNumberId}/messages`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${SANDBOX_CREDENTIALS.whatsappAccessToken}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({
        messaging_product: 'whatsapp',
        to: from,
        type: 'text',
        text: { body: '¡Hola! Soy WADI.' },
      }),
    });
    expect(send.status).toBe(200);
    const r = await run;
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`→ ${from}: ${text}`);
    expect(r.stdout).toContain('← ¡Hola! Soy WADI.');
  }, 120_000);

  it('exits 1 saying the message was stored when no reply comes in time', async () => {
    const from = '5215500000002';
    const r = await runWadi(
      ['simulate', 'whatsapp', 'nadie contesta', '--from', from, '--url', base, '--timeout', '2'],
      { timeoutMs: 90_000 },
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('the message was stored, but no reply came within 2 s');
    expect(await storedText(from)).toEqual(['nadie contesta']);
  }, 180_000);

  it('exits 1 with the HTTP status when the signature is refused, and on an unreachable URL', async () => {
    const bad = await runWadi(['simulate', 'whatsapp', 'x', '--url', base, '--timeout', '2'], {
      env: { WHATSAPP_APP_SECRET: 'not-the-servers-secret' },
      timeoutMs: 90_000,
    });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('HTTP 401');
    const port = await freePort();
    const down = await runWadi(['simulate', 'whatsapp', 'x', '--url', `http://127.0.0.1:${port}`, '--timeout', '2'], {
      timeoutMs: 90_000,
    });
    expect(down.code).toBe(1);
    expect(down.stderr).toContain('cannot reach');
  }, 180_000);
});
