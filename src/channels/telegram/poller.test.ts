import Fastify, { type FastifyInstance } from 'fastify';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, spawnWadi, type WadiProcess } from '../../../test/helpers/cli.ts';
import { postgresUrl, type TestDb, testDatabase } from '../../../test/helpers/db.ts';
import { SANDBOX_CREDENTIALS } from '../../config/config.ts';
import { InboxWriter } from '../../inbox/writer.ts';
import { sandboxPlugin } from '../../sandbox/module.ts';
import { SandboxState } from '../../sandbox/state.ts';
import { TelegramClient } from './client.ts';
import { type IngestDeps, type IngestResult, ingestUpdates } from './ingest.ts';
import { readOffset, TelegramPoller } from './poller.ts';
import type { TgUpdate } from './update-types.ts';

const TOKEN = SANDBOX_CREDENTIALS.telegramBotToken;

describe('telegram long polling', () => {
  let t: TestDb;
  let fake: FastifyInstance;
  let fakeUrl: string;
  let writer: InboxWriter;
  const lines: string[] = [];
  const logger = pino({ level: 'debug' }, { write: (l: string) => void lines.push(l) });

  beforeAll(async () => {
    t = await testDatabase();
    writer = new InboxWriter(t.database);
    fake = Fastify();
    await fake.register(sandboxPlugin(new SandboxState()));
    fakeUrl = await fake.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(async () => {
    await fake?.close();
    await t?.drop();
  });

  const client = () => new TelegramClient({ token: TOKEN, apiRoot: `${fakeUrl}/sandbox/telegram`, logger });
  const ingestDeps = (c: TelegramClient): IngestDeps => ({
    database: t.database,
    writer: () => writer,
    bot: () => c.bot(),
    groupReply: 'mention',
    logger,
    answerCallback: async () => {},
  });
  const bot = (method: string, body: unknown = {}) =>
    fetch(`${fakeUrl}/sandbox/telegram/bot${TOKEN}/${method}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  const queue = async (n: number, chat: number) => {
    for (let i = 0; i < n; i++) {
      await fetch(`${fakeUrl}/sandbox/telegram/updates`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          message: {
            message_id: i + 1,
            date: 1_764_000_000 + i,
            text: `m${i}`,
            chat: { id: chat, type: 'private' },
            from: { id: chat },
          },
        }),
      });
    }
  };
  const stored = async (chat: number) =>
    (
      await t.database.query<{ external_id: string }>(
        `select external_id from inbox_messages where chat_id = $1 order by id`,
        [String(chat)],
      )
    ).rows.map((r) => r.external_id);

  it('loses and repeats nothing across a crash between commit and offset', async () => {
    await queue(25, 9001);
    const c = client();
    const results: IngestResult[] = [];
    let batches = 0;
    let crashed!: () => void;
    const crash = new Promise<void>((r) => {
      crashed = r;
    });
    // First poller: the second batch is committed, then the process "dies" before the offset moves.
    const p1 = new TelegramPoller({
      client: c,
      database: t.database,
      ingest: ingestDeps(c),
      logger,
      limit: 10,
      timeoutSeconds: 1,
      backoffMs: 60_000,
      store: async (u: readonly TgUpdate[]) => {
        results.push(await ingestUpdates(u, ingestDeps(c)));
        if (++batches === 2) {
          crashed();
          throw new Error('simulated crash after commit');
        }
      },
    });
    p1.start();
    await crash;
    await p1.stop();
    expect(await readOffset(t.database)).toBe(11); // only the first batch was confirmed
    expect(await stored(9001)).toHaveLength(20);

    const p2 = new TelegramPoller({
      client: c,
      database: t.database,
      ingest: ingestDeps(c),
      logger,
      limit: 10,
      timeoutSeconds: 1,
      store: async (u: readonly TgUpdate[]) => void results.push(await ingestUpdates(u, ingestDeps(c))),
    });
    p2.start();
    await expect.poll(() => readOffset(t.database), { timeout: 20_000 }).toBe(26);
    await p2.stop();
    const ids = await stored(9001);
    expect(ids).toEqual(Array.from({ length: 25 }, (_, i) => `update:${i + 1}`));
    // The re-fetched batch was recognised as already stored: harmless.
    expect(results.map((r) => [r.accepted, r.duplicates])).toEqual([
      [10, 0],
      [10, 0],
      [0, 10],
      [5, 0],
    ]);
  });

  it('stops promptly while a long poll is waiting', async () => {
    const c = client();
    const p = new TelegramPoller({
      client: c,
      database: t.database,
      ingest: ingestDeps(c),
      logger,
      timeoutSeconds: 50,
    });
    p.start();
    await new Promise((r) => setTimeout(r, 300));
    // The test timeout (30 s) is shorter than the 50 s long poll: only an abort can finish this.
    await p.stop();
  });

  it('reports a 409 (webhook set) clearly, backs off, and recovers when the webhook goes', async () => {
    expect((await bot('setWebhook', { url: 'https://example.com/webhooks/telegram' })).status).toBe(200);
    const c = client();
    const p = new TelegramPoller({
      client: c,
      database: t.database,
      ingest: ingestDeps(c),
      logger,
      timeoutSeconds: 1,
      backoffMs: 20,
      maxBackoffMs: 100,
    });
    p.start();
    await expect.poll(async () => (await p.check.run()).status, { timeout: 10_000 }).toBe('warn');
    expect((await p.check.run()).output).toMatch(/409/);
    const conflictLines = lines.filter((l) => l.includes('conflict (409)'));
    expect(conflictLines.length).toBe(1); // logged once per episode, not once per retry
    expect(conflictLines[0]).toContain('delete-webhook');
    await bot('deleteWebhook');
    await queue(1, 9002);
    await expect.poll(() => stored(9002), { timeout: 10_000 }).toHaveLength(1);
    expect((await p.check.run()).status).toBe('pass');
    await p.stop();
  });

  it('backs off on network errors and recovers by itself when the Bot API is back', async () => {
    const port = await freePort();
    const c = new TelegramClient({ token: TOKEN, apiRoot: `http://127.0.0.1:${port}/sandbox/telegram`, logger });
    const p = new TelegramPoller({
      client: c,
      database: t.database,
      ingest: ingestDeps(c),
      logger,
      timeoutSeconds: 1,
      backoffMs: 20,
      maxBackoffMs: 200,
    });
    p.start();
    await expect.poll(async () => (await p.check.run()).output, { timeout: 10_000 }).toBe('getUpdates failing');
    // The Bot API comes back on the same address.
    const back = Fastify();
    await back.register(sandboxPlugin(new SandboxState()));
    await back.listen({ port, host: '127.0.0.1' });
    try {
      await expect.poll(async () => (await p.check.run()).status, { timeout: 10_000 }).toBe('pass');
      expect(lines.some((l) => l.includes('telegram polling recovered'))).toBe(true);
      expect(lines.join('\n')).not.toContain(TOKEN.split(':')[1]);
    } finally {
      await p.stop();
      await back.close();
    }
  });

  it('lets only one replica poll (advisory lock)', async () => {
    const c = client();
    const mk = () =>
      new TelegramPoller({
        client: c,
        database: t.database,
        ingest: ingestDeps(c),
        logger,
        timeoutSeconds: 1,
        lockRetryMs: 50,
      });
    const a = mk();
    const b = mk();
    a.start();
    await expect.poll(async () => (await a.check.run()).output, { timeout: 10_000 }).toBe('polling');
    b.start();
    await expect
      .poll(async () => (await b.check.run()).output, { timeout: 10_000 })
      .toBe('another replica polls Telegram');
    await a.stop();
    // The lock is free again: the other replica takes over.
    await expect.poll(async () => (await b.check.run()).output, { timeout: 10_000 }).toBe('polling');
    await b.stop();
  });
});

describe.runIf(postgresUrl())('telegram long polling across kill -9 of a real process', () => {
  let t: TestDb;
  let fake: FastifyInstance;
  let fakeUrl: string;
  const children: WadiProcess[] = [];
  beforeAll(async () => {
    t = await testDatabase('postgres');
    fake = Fastify();
    await fake.register(sandboxPlugin(new SandboxState()));
    fakeUrl = await fake.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(async () => {
    for (const c of children) c.child.kill('SIGKILL');
    await fake?.close();
    await t?.drop();
  });

  it('stores every update exactly once although the poller was killed mid-stream', async () => {
    const N = 300;
    for (let i = 0; i < N; i++) {
      await fetch(`${fakeUrl}/sandbox/telegram/updates`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          message: {
            message_id: i + 1,
            date: 1_764_000_000,
            text: `k${i}`,
            chat: { id: 77, type: 'private' },
            from: { id: 77 },
          },
        }),
      });
    }
    const env = {
      DATABASE_URL: t.url,
      WADI_SANDBOX: 'false',
      TELEGRAM_BOT_TOKEN: TOKEN,
      TELEGRAM_API_URL: `${fakeUrl}/sandbox/telegram`,
      TELEGRAM_MODE: 'polling',
      ADMIN_API_KEY: 'k'.repeat(40),
      PORT: '0',
      HOST: '127.0.0.1',
    };
    const count = async () =>
      (await t.database.query<{ n: number }>(`select count(*)::int as n from inbox_messages`)).rows[0].n;
    const first = spawnWadi(['start', '--role', 'worker'], { env });
    children.push(first);
    await expect.poll(count, { timeout: 120_000, interval: 20 }).toBeGreaterThan(0);
    first.child.kill('SIGKILL');
    await first.exited;
    const atKill = await count();
    const second = spawnWadi(['start', '--role', 'worker'], { env });
    children.push(second);
    await expect.poll(count, { timeout: 120_000 }).toBe(N);
    await expect.poll(() => readOffset(t.database), { timeout: 60_000 }).toBe(N + 1);
    second.child.kill('SIGTERM');
    await second.exited;
    const dup = await t.database.query<{ n: number }>(
      `select count(*)::int as n from (select external_id from inbox_messages group by 1 having count(*) > 1) d`,
    );
    expect(dup.rows[0].n).toBe(0);
    // The kill came after at least one committed batch; whatever was in flight was fetched again.
    expect(atKill).toBeGreaterThan(0);
  }, 300_000);
});
