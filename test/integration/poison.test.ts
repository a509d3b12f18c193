/**
 * Poison payloads on a real WADI on PostgreSQL, over HTTP with signed deliveries: what the
 * database cannot store must not take the deliveries committed with it down, must not be
 * retried for ever, and must not leak its content into logs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SANDBOX_CREDENTIALS } from '../../src/config/config.ts';
import { metaJson, signWhatsapp, telegramTextUpdate, whatsappTextWebhook } from '../../src/sandbox/payloads.ts';
import { type TestDb, testDatabase } from '../helpers/db.ts';
import { startTestWadi, type TestWadi } from '../helpers/wadi.ts';

let t: TestDb;
let w: TestWadi;
const run = Date.now().toString(36);
let seq = 0;

beforeAll(async () => {
  t = await testDatabase();
  w = await startTestWadi(t.database);
});
afterAll(async () => {
  await w?.stop();
  await t?.drop();
});

const q = async <T = Record<string, unknown>>(sql: string, params: unknown[] = []) =>
  (await t.database.query<T>(sql, params)).rows;

async function until<T>(what: string, fn: () => Promise<T | undefined | false>, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A signed WhatsApp delivery of `body` (already a JSON string): the HTTP status. */
async function post(body: string): Promise<number> {
  const res = await fetch(`${w.url}/webhooks/whatsapp`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-hub-signature-256': signWhatsapp(body, SANDBOX_CREDENTIALS.whatsappAppSecret),
    },
    body,
  });
  await res.arrayBuffer();
  return res.status;
}

function text(from: string, body: string, timestamp?: number): string {
  seq++;
  return metaJson(whatsappTextWebhook({ from, id: `wamid.poison.${run}.${seq}`, text: body, timestamp }));
}

const answered = async (chatIds: readonly string[]) =>
  (
    await q<{ chat_id: string }>(
      `select distinct chat_id from outbox_messages where chat_id = any($1) and sent_at is not null`,
      [chatIds],
    )
  ).map((r) => r.chat_id);

async function metric(outcome: string): Promise<number> {
  const res = await fetch(`${w.url}/metrics`);
  const m = new RegExp(`wadi_webhook_events_total\\{channel="whatsapp",outcome="${outcome}"\\} (\\d+)`).exec(
    await res.text(),
  );
  return Number(m?.[1] ?? 0);
}

describe('a delivery the database cannot store', () => {
  it('13 concurrent deliveries, one poison: 13 × 200, 12 answered, 1 dead letter, counted, no content logged', async () => {
    const healthy = Array.from({ length: 12 }, (_, i) => `3460${run.length}${String(i).padStart(7, '0')}`);
    const poisonFrom = '34699999999';
    // Year 255479: valid in JavaScript, out of PostgreSQL's range. Normalisation cannot fix a date.
    const poisonBody = text(poisonFrom, `poison-marker-${run}`, 8_000_000_000_000);
    const bodies = healthy.map((from, i) => text(from, `hola ${i}`));
    bodies.splice(5, 0, poisonBody);
    const unstorableBefore = await metric('unstorable');

    const statuses = await Promise.all(bodies.map(post));
    expect(statuses).toEqual(Array(13).fill(200));

    await until('12 answers', async () => (await answered(healthy)).length === 12);
    const dead = await q<{ channel: string; reason: string; items: number; bytes: number; raw_base64: string }>(
      'select channel, reason, items, bytes, raw_base64 from unstorable_deliveries',
    );
    expect(dead).toHaveLength(1);
    expect(dead[0]?.channel).toBe('whatsapp');
    expect(dead[0]?.items).toBe(1);
    expect(dead[0]?.reason).toMatch(/^22\w{3} /);
    // The bytes exactly as Meta sent them, so an operator can look at (or replay) the delivery.
    expect(Buffer.from(dead[0]?.raw_base64 ?? '', 'base64').toString('utf8')).toBe(poisonBody);
    expect(dead[0]?.bytes).toBe(Buffer.byteLength(poisonBody));
    expect((await q('select 1 from inbox_messages where chat_id = $1', [poisonFrom])).length).toBe(0);
    expect(await metric('unstorable')).toBe(unstorableBefore + 1);

    // A redelivery is answered 200 again (Meta stops), kept once more, never stored as a message.
    expect(await post(poisonBody)).toBe(200);
    expect((await q('select 1 from unstorable_deliveries')).length).toBe(2);

    expect(w.logs.text()).not.toContain(`poison-marker-${run}`);
    expect(w.logs.text()).not.toContain('255479');
  });

  it.each([
    ['a NUL', 'antes\u0000después', 'antesdespués'],
    ['a lone high surrogate', 'roto \uD83D fin', 'roto \uFFFD fin'],
    ['a lone low surrogate', '\uDE00 solo', '\uFFFD solo'],
    ['NUL and a surrogate pair', '\u0000😀\u0000', '😀'],
  ])('stores and answers a message with %s, normalised', async (_name, body, stored) => {
    seq++;
    const from = `3461${String(seq).padStart(7, '0')}`;
    expect(await post(text(from, body))).toBe(200);
    const rows = await until('the stored message', async () => {
      const r = await q<{ text: string }>(`select event->>'text' as text from inbox_messages where chat_id = $1`, [
        from,
      ]);
      return r.length > 0 ? r : undefined;
    });
    expect(rows.map((r) => r.text)).toEqual([stored]);
    await until('the answer', async () => (await answered([from])).length === 1);
  });

  it('stores a message whose unknown fields nest deeper than PostgreSQL parses, cut at the depth cap', async () => {
    seq++;
    const from = `3462${String(seq).padStart(7, '0')}`;
    // 20 000 levels: PostgreSQL's JSON parser runs out of stack ("stack depth limit exceeded").
    const depth = 20_000;
    const body = text(from, 'hondo').replace(
      '"type":"text"',
      `"nested":${'['.repeat(depth)}"fondo"${']'.repeat(depth)},"type":"text"`,
    );
    expect(body).toContain('"nested":[[[');
    expect(await post(body)).toBe(200);
    const rows = await until('the stored message', async () => {
      const r = await q<{ text: string; depth: number }>(
        `select event->>'text' as text, length(event::text) as depth from inbox_messages where chat_id = $1`,
        [from],
      );
      return r.length > 0 ? r : undefined;
    });
    expect(rows[0]?.text).toBe('hondo');
    expect(rows[0]?.depth).toBeLessThan(1000);
    await until('the answer', async () => (await answered([from])).length === 1);
  });

  it('a Telegram update with a NUL and a lone surrogate is stored normalised and answered 200', async () => {
    seq++;
    const chatId = 700_000_000 + seq;
    const res = await fetch(`${w.url}/webhooks/telegram`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-telegram-bot-api-secret-token': SANDBOX_CREDENTIALS.telegramWebhookSecret,
      },
      body: JSON.stringify(telegramTextUpdate({ updateId: 900_000 + seq, chatId, text: 'a\u0000b\uDC00c' })),
    });
    expect(res.status).toBe(200);
    const rows = await q<{ text: string }>(`select event->>'text' as text from inbox_messages where chat_id = $1`, [
      String(chatId),
    ]);
    expect(rows.map((r) => r.text)).toEqual(['ab\uFFFDc']);
  });
});
