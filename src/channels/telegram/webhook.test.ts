import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestDb, testDatabase } from '../../../test/helpers/db.ts';
import { startTestWadi, type TestWadi } from '../../../test/helpers/wadi.ts';
import { SANDBOX_CREDENTIALS } from '../../config/config.ts';
import { registry } from '../../observability/metrics/metrics.ts';

const SECRET = SANDBOX_CREDENTIALS.telegramWebhookSecret;
const BOT = { id: 100000001, username: 'wadi_sandbox_bot' };
let nextId = 5000;

function msg(over: Record<string, unknown> = {}, chat: Record<string, unknown> = { id: 42, type: 'private' }) {
  return {
    message_id: nextId,
    date: 1_764_000_000,
    from: { id: 42, is_bot: false, first_name: 'Ana', last_name: 'Ruiz', language_code: 'es' },
    chat,
    ...over,
  };
}

describe('POST /webhooks/telegram', () => {
  let t: TestDb;
  let w: TestWadi;
  beforeAll(async () => {
    t = await testDatabase();
    w = await startTestWadi(t.database, { env: { TELEGRAM_MODE: 'webhook' } });
  });
  afterAll(async () => {
    await w?.stop();
    await t?.drop();
  });

  const post = (body: unknown, secret: string | null = SECRET, raw?: string) =>
    fetch(`${w.url}/webhooks/telegram`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(secret !== null ? { 'x-telegram-bot-api-secret-token': secret } : {}),
      },
      body: raw ?? JSON.stringify(body),
    });
  const rows = async (externalId: string) =>
    (
      await t.database.query<{ kind: string; status: string; chat_id: string; event: Record<string, unknown> }>(
        `select kind, status, chat_id, event from inbox_messages where channel = 'telegram' and external_id = $1`,
        [externalId],
      )
    ).rows;
  const send = async (update: Record<string, unknown>) => {
    const id = ++nextId;
    const res = await post({ update_id: id, ...update });
    return { id, res, stored: await rows(`update:${id}`) };
  };
  const count = async () =>
    (await t.database.query<{ n: number }>(`select count(*)::int as n from inbox_messages`)).rows[0].n;

  it('refuses a missing, wrong or wrong-length secret with 401 and stores nothing', async () => {
    const before = await count();
    const update = { update_id: 1, message: msg({ text: 'hola' }) };
    for (const secret of [null, '', 'x'.repeat(SECRET.length), `${SECRET}x`, SECRET.slice(0, -1), 'short']) {
      const res = await post(update, secret);
      expect(res.status, `secret ${JSON.stringify(secret)}`).toBe(401);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('unauthorized');
    }
    // Even a malformed body is refused for the secret first: nothing is parsed for strangers.
    expect((await post(undefined, 'wrong', '{nope')).status).toBe(401);
    expect(await count()).toBe(before);
    const metrics = await registry.getSingleMetricAsString('wadi_webhook_events_total');
    expect(metrics).toMatch(/channel="telegram",outcome="invalid_signature"} [1-9]/);
  });

  it('answers malformed JSON and non-updates with 400', async () => {
    const bad = await post(undefined, SECRET, '{"update_id": 1,');
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe('malformed_json');
    expect((await post({ hello: 1 })).status).toBe(400);
    expect((await post([1, 2])).status).toBe(400);
  });

  it('refuses a body over 1 MB', async () => {
    const res = await post({ update_id: 1, message: msg({ text: 'x'.repeat(1_100_000) }) });
    expect(res.status).toBe(413);
  });

  it('stores a private text message before answering 200, and a redelivery once', async () => {
    const { id, res, stored } = await send({ message: msg({ text: 'hola, ¿qué tal? 👋' }) });
    expect(res.status).toBe(200);
    expect(stored).toHaveLength(1);
    expect(stored[0]).toMatchObject({ kind: 'text', status: 'pending', chat_id: '42' });
    expect(stored[0].event).toMatchObject({
      channel: 'telegram',
      externalId: `update:${id}`,
      chatId: '42',
      userId: '42',
      displayName: 'Ana Ruiz',
      chatType: 'private',
      text: 'hola, ¿qué tal? 👋',
      answer: true,
      locale: 'es',
    });
    const again = await post({ update_id: id, message: msg({ text: 'hola, ¿qué tal? 👋' }) });
    expect(again.status).toBe(200);
    expect(((await again.json()) as { duplicates: number }).duplicates).toBe(1);
    expect(await rows(`update:${id}`)).toHaveLength(1);
    const conv = await t.database.query<{ messages_in: number }>(
      `select messages_in from conversations where channel = 'telegram' and chat_id = '42'`,
    );
    expect(conv.rows[0].messages_in).toBe(1);
  });

  it('stores photos and documents with their captions', async () => {
    const photo = await send({
      message: msg({
        caption: 'mira esto',
        photo: [
          { file_id: 'small', width: 90, height: 90 },
          { file_id: 'large', width: 1280, height: 1280 },
        ],
      }),
    });
    expect(photo.stored[0].kind).toBe('image');
    expect(photo.stored[0].event).toMatchObject({ text: 'mira esto', media: { id: 'large', caption: 'mira esto' } });
    const doc = await send({
      message: msg({
        caption: 'factura',
        document: { file_id: 'doc1', mime_type: 'application/pdf', file_name: 'f.pdf' },
      }),
    });
    expect(doc.stored[0].event).toMatchObject({
      kind: 'document',
      text: 'factura',
      media: { id: 'doc1', mimeType: 'application/pdf', fileName: 'f.pdf' },
    });
  });

  it('parses /start with a deep-link payload and /cmd@ourbot, and ignores commands for another bot', async () => {
    const start = await send({
      message: msg({ text: '/start promo-2026', entities: [{ type: 'bot_command', offset: 0, length: 6 }] }),
    });
    expect(start.stored[0].event).toMatchObject({ kind: 'command', command: { name: 'start', args: 'promo-2026' } });
    const ours = await send({
      message: msg({
        text: `/help@${BOT.username} please`,
        entities: [{ type: 'bot_command', offset: 0, length: 6 + BOT.username.length }],
      }),
    });
    expect(ours.stored[0].event).toMatchObject({ kind: 'command', command: { name: 'help', args: 'please' } });
    const other = await send({
      message: msg({ text: '/help@other_bot', entities: [{ type: 'bot_command', offset: 0, length: 15 }] }),
    });
    expect(other.res.status).toBe(200);
    expect(other.stored).toHaveLength(0);
  });

  it('records an edited message without answering it', async () => {
    const { stored } = await send({ edited_message: msg({ text: 'hola (editado)', edit_date: 1_764_000_100 }) });
    expect(stored[0]).toMatchObject({ kind: 'edited', status: 'ignored' });
    expect(stored[0].event).toMatchObject({ answer: false, text: 'hola (editado)' });
  });

  it('hands a callback query on as a user event and answers it after the commit', async () => {
    const { stored } = await send({
      callback_query: {
        id: 'cbq-1',
        from: { id: 42, first_name: 'Ana' },
        message: msg({ text: '¿Sí o no?', from: { id: BOT.id, is_bot: true } }),
        chat_instance: 'ci',
        data: 'yes',
      },
    });
    expect(stored[0]).toMatchObject({ kind: 'callback', status: 'pending', chat_id: '42' });
    expect(stored[0].event).toMatchObject({ text: 'yes', answer: true });
    await expect
      .poll(async () => {
        const out = (await (await fetch(`${w.url}/sandbox/outbox?channel=telegram`)).json()) as {
          calls: { kind: string; body: { callback_query_id?: string } }[];
        };
        return out.calls.some((c) => c.kind === 'answerCallbackQuery' && c.body.callback_query_id === 'cbq-1');
      })
      .toBe(true);
  });

  it('answers a redelivered callback query only once (the first, newly stored, delivery)', async () => {
    const answers = async (id: string) => {
      const out = (await (await fetch(`${w.url}/sandbox/outbox?channel=telegram`)).json()) as {
        calls: { kind: string; body: { callback_query_id?: string } }[];
      };
      return out.calls.filter((c) => c.kind === 'answerCallbackQuery' && c.body.callback_query_id === id).length;
    };
    const press = (cbq: string) => ({
      callback_query: {
        id: cbq,
        from: { id: 43, first_name: 'Eva' },
        message: msg({ text: '¿Sí o no?', from: { id: BOT.id, is_bot: true } }, { id: 43, type: 'private' }),
        chat_instance: 'ci',
        data: 'yes',
      },
    });
    const first = await send(press('cbq-2'));
    expect(first.res.status).toBe(200);
    await expect.poll(() => answers('cbq-2')).toBe(1);
    // Telegram redelivers the same update (same update_id) when it missed our 200.
    for (let i = 0; i < 2; i++) {
      const again = await post({ update_id: first.id, ...press('cbq-2') });
      expect(again.status).toBe(200);
    }
    // A later, new press is answered; by then any answer to the redeliveries would have been sent too.
    await send(press('cbq-3'));
    await expect.poll(() => answers('cbq-3')).toBe(1);
    expect(await answers('cbq-2')).toBe(1);
  });

  it('answers in groups only when mentioned, replied to or commanded', async () => {
    const group = { id: -1001, type: 'supergroup', title: 'Equipo' };
    const plain = await send({ message: msg({ text: 'hola a todos' }, group) });
    expect(plain.stored[0]).toMatchObject({ status: 'ignored', chat_id: '-1001' });
    const mention = await send({
      message: msg(
        {
          text: `oye @${BOT.username} ayuda`,
          entities: [{ type: 'mention', offset: 4, length: BOT.username.length + 1 }],
        },
        group,
      ),
    });
    expect(mention.stored[0]).toMatchObject({ status: 'pending' });
    const reply = await send({
      message: msg(
        { text: 'gracias', reply_to_message: msg({ text: 'x', from: { id: BOT.id, is_bot: true } }) },
        group,
      ),
    });
    expect(reply.stored[0]).toMatchObject({ status: 'pending' });
    const cmd = await send({
      message: msg({ text: '/help', entities: [{ type: 'bot_command', offset: 0, length: 5 }] }, group),
    });
    expect(cmd.stored[0]).toMatchObject({ kind: 'command', status: 'pending' });
  });

  it('ignores channel posts but answers 200', async () => {
    const { res, stored } = await send({ channel_post: msg({ text: 'news' }, { id: -100777, type: 'channel' }) });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { ignored: number }).ignored).toBe(1);
    expect(stored).toHaveLength(0);
    const metrics = await registry.getSingleMetricAsString('wadi_webhook_events_total');
    expect(metrics).toMatch(/channel="telegram",outcome="ignored"} [1-9]/);
  });

  it('follows a group upgraded to a supergroup', async () => {
    const old = { id: -555, type: 'group', title: 'Viejo' };
    await send({ message: msg({ text: `@${BOT.username} hola` }, old) });
    const before = await t.database.query<{ id: number }>(
      `select id from conversations where channel = 'telegram' and chat_id = '-555'`,
    );
    expect(before.rows).toHaveLength(1);
    const migrated = await send({ message: msg({ migrate_to_chat_id: -1005550 }, old) });
    expect(migrated.res.status).toBe(200);
    expect(migrated.stored[0]).toMatchObject({ status: 'ignored', chat_id: '-1005550' });
    // The service message from the new side is harmless too (idempotent).
    await send({ message: msg({ migrate_from_chat_id: -555 }, { id: -1005550, type: 'supergroup' }) });
    const after = await t.database.query<{ id: number; chat_id: string; chat_type: string }>(
      `select id, chat_id, chat_type from conversations where channel = 'telegram' and chat_id in ('-555', '-1005550')`,
    );
    expect(after.rows).toEqual([{ id: before.rows[0].id, chat_id: '-1005550', chat_type: 'supergroup' }]);
  });

  it('answers 503 with Retry-After when the database cannot store the update', async () => {
    await t.database.query(`alter table inbox_messages rename to inbox_messages_away`);
    try {
      const id = ++nextId;
      const res = await post({ update_id: id, message: msg({ text: 'hola' }) });
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('5');
    } finally {
      await t.database.query(`alter table inbox_messages_away rename to inbox_messages`);
    }
  });
});
