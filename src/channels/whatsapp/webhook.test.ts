import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type TestDb, testDatabase } from '../../../test/helpers/db.ts';
import { startTestWadi, type TestWadi, testConfig } from '../../../test/helpers/wadi.ts';
import { createWadi } from '../../app/wadi.ts';
import { SANDBOX_CREDENTIALS } from '../../config/config.ts';
import { openDatabase } from '../../db/client.ts';
import { metrics } from '../../observability/metrics/metrics.ts';
import { metaStringify } from './meta-json.ts';
import { newInboundWamid, notification, textNotification } from './payload.ts';
import { signBody } from './signature.ts';

const SECRET = SANDBOX_CREDENTIALS.whatsappAppSecret;
const PHONE_ID = SANDBOX_CREDENTIALS.whatsappPhoneNumberId;
const USER = '5215512345678';

describe('WhatsApp webhook (real HTTP, real database)', () => {
  let t: TestDb;
  let w: TestWadi;
  beforeAll(async () => {
    t = await testDatabase();
    w = await startTestWadi(t.database);
  });
  afterAll(async () => {
    await w?.stop();
    await t?.drop();
  });
  beforeEach(async () => {
    await t.database.query('delete from inbox_messages');
    await t.database.query('delete from status_events');
    await t.database.query('delete from outbox_messages');
  });

  const post = (body: string | Buffer, headers: Record<string, string> = {}) =>
    fetch(`${w.url}/webhooks/whatsapp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-hub-signature-256': signBody(body, SECRET), ...headers },
      body: typeof body === 'string' ? body : new Uint8Array(body),
    });
  const postJson = (value: unknown) => post(metaStringify(value));
  const inbox = async () =>
    (
      await t.database.query<{ external_id: string; kind: string; status: string; event: Record<string, unknown> }>(
        'select external_id, kind, status, event from inbox_messages order by id',
      )
    ).rows;
  const counter = async (outcome: string) =>
    (await metrics.webhookEvents.get()).values.find(
      (v) => v.labels.channel === 'whatsapp' && v.labels.outcome === outcome,
    )?.value ?? 0;

  describe('verification handshake', () => {
    const get = (q: string) => fetch(`${w.url}/webhooks/whatsapp?${q}`);
    it('echoes hub.challenge verbatim as text/plain when the token matches', async () => {
      const challenge = '1158201444&x=y 😀';
      const res = await get(
        `hub.mode=subscribe&hub.verify_token=${SANDBOX_CREDENTIALS.whatsappVerifyToken}&hub.challenge=${encodeURIComponent(challenge)}`,
      );
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toContain('text/plain');
      expect(await res.text()).toBe(challenge);
    });
    it('answers 403 on a wrong token, a wrong mode or a missing token', async () => {
      for (const q of [
        'hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=1',
        `hub.mode=unsubscribe&hub.verify_token=${SANDBOX_CREDENTIALS.whatsappVerifyToken}&hub.challenge=1`,
        'hub.mode=subscribe&hub.challenge=1',
        '',
      ]) {
        const res = await get(q);
        expect(res.status, q).toBe(403);
        expect(await res.text()).not.toContain('1158');
      }
    });
  });

  describe('answer headers', () => {
    it('answers a delivery without browser security headers, after storing it; the dashboard keeps them', async () => {
      const { body, wamid } = textNotification({ phoneNumberId: PHONE_ID, from: USER, text: 'hola' });
      const res = await postJson(body);
      expect(res.status).toBe(200);
      expect((await inbox()).map((r) => r.external_id)).toEqual([wamid]);
      for (const h of [
        'content-security-policy',
        'strict-transport-security',
        'x-frame-options',
        'cross-origin-opener-policy',
      ])
        expect(res.headers.get(h), h).toBeNull();
      // A bad signature is still refused and counted, without the headers too.
      const bad = await post(metaStringify(body), { 'x-hub-signature-256': 'sha256=00' });
      expect(bad.status).toBe(401);
      const page = await fetch(`${w.url}/admin`);
      expect(page.headers.get('content-security-policy')).not.toBeNull();
      expect(page.headers.get('x-frame-options') ?? page.headers.get('content-security-policy')).toBeTruthy();
    });
  });

  describe('signature', () => {
    it('accepts a valid signature and stores the message', async () => {
      const { body, wamid } = textNotification({ phoneNumberId: PHONE_ID, from: USER, text: 'hola' });
      const before = await counter('accepted');
      const res = await postJson(body);
      expect(res.status).toBe(200);
      // The acknowledgement is sent from a buffer serialised once: still the JSON Meta's docs show.
      expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
      expect(await res.text()).toBe('{"received":true}');
      const rows = await inbox();
      expect(rows.map((r) => r.external_id)).toEqual([wamid]);
      expect(rows[0].event).toMatchObject({ kind: 'text', text: 'hola', chatId: USER, displayName: 'Sandbox User' });
      expect(await counter('accepted')).toBe(before + 1);
    });

    it('answers 401 and stores nothing on a tampered byte, a missing header or a wrong prefix', async () => {
      const raw = metaStringify(textNotification({ phoneNumberId: PHONE_ID, from: USER, text: 'hola' }).body);
      const sig = signBody(raw, SECRET);
      const tampered = raw.replace('hola', 'hole');
      const before = await counter('invalid_signature');
      for (const [body, headers] of [
        [tampered, { 'x-hub-signature-256': sig }],
        [raw, { 'x-hub-signature-256': '' }],
        [raw, { 'x-hub-signature-256': sig.replace('sha256=', 'sha1=') }],
        [raw, { 'x-hub-signature-256': sig.slice(0, -2) }],
        [raw, { 'x-hub-signature-256': signBody(raw, 'another-secret') }],
      ] as const) {
        const res = await post(body, headers);
        expect(res.status).toBe(401);
        expect(await res.json()).toEqual({
          error: { code: 'invalid_signature', message: 'the request signature does not match' },
        });
      }
      const missing = await fetch(`${w.url}/webhooks/whatsapp`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: raw,
      });
      expect(missing.status).toBe(401);
      expect(await inbox()).toEqual([]);
      expect(await counter('invalid_signature')).toBe(before + 6);
    });

    it('accepts uppercase hex', async () => {
      const raw = metaStringify(textNotification({ phoneNumberId: PHONE_ID, from: USER, text: 'HEX' }).body);
      const sig = signBody(raw, SECRET);
      const res = await post(raw, { 'x-hub-signature-256': `sha256=${sig.slice(7).toUpperCase()}` });
      expect(res.status).toBe(200);
      expect(await inbox()).toHaveLength(1);
    });

    it('verifies accented and emoji bodies over the bytes Meta signed (escaped unicode)', async () => {
      const text = 'Canción de mañana, ¿sí? 👍🏽 你好';
      const { body } = textNotification({ phoneNumberId: PHONE_ID, from: USER, text, name: 'José Núñez' });
      const raw = metaStringify(body);
      expect(raw).toContain('\\u00f1');
      expect(raw).toContain('\\ud83d\\udc4d');
      const res = await post(raw);
      expect(res.status).toBe(200);
      const [row] = await inbox();
      expect(row.event).toMatchObject({ text, displayName: 'José Núñez' });

      // A receiver that re-serialises would compute this signature instead: it must not match.
      const reserialised = JSON.stringify(JSON.parse(raw));
      const bad = await post(raw, { 'x-hub-signature-256': signBody(reserialised, SECRET) });
      expect(bad.status).toBe(401);
    });
  });

  it('turns every message type into a stored event, never a 500', async () => {
    const ts = '1732800000';
    const m = (type: string, payload: Record<string, unknown>) => ({
      from: USER,
      id: newInboundWamid(),
      timestamp: ts,
      type,
      ...payload,
    });
    const messages = [
      m('text', { text: { body: 'plain' } }),
      m('text', { text: { body: 'a reply' }, context: { from: '15550000000', id: 'wamid.ORIGINAL' } }),
      m('image', { image: { id: 'img-1', mime_type: 'image/jpeg', sha256: 'abc', caption: 'look' } }),
      m('audio', { audio: { id: 'aud-1', mime_type: 'audio/ogg; codecs=opus', voice: true } }),
      m('video', { video: { id: 'vid-1', mime_type: 'video/mp4' } }),
      m('document', { document: { id: 'doc-1', mime_type: 'application/pdf', filename: 'cv.pdf', caption: 'mi cv' } }),
      m('sticker', { sticker: { id: 'stk-1', mime_type: 'image/webp', animated: false } }),
      m('location', { location: { latitude: 19.43, longitude: -99.13, name: 'Zócalo', address: 'CDMX' } }),
      m('interactive', { interactive: { type: 'button_reply', button_reply: { id: 'yes', title: 'Sí' } } }),
      m('interactive', {
        interactive: { type: 'list_reply', list_reply: { id: 'r1', title: 'Row', description: 'first row' } },
      }),
      m('button', { button: { payload: 'STOP', text: 'Stop promotions' } }),
      m('reaction', { reaction: { message_id: 'wamid.OUT1', emoji: '❤️' } }),
      m('reaction', { reaction: { message_id: 'wamid.OUT1' } }),
      m('contacts', { contacts: [{ name: { formatted_name: 'Ana' }, phones: [{ phone: '+52 1 55' }] }] }),
      m('unsupported', {
        errors: [{ code: 131051, title: 'Message type unknown' }],
        unsupported: { type: 'poll' },
      }),
      m('hologram', { hologram: { id: 'h1' }, brand_new_field: { x: 1 } }),
    ];
    const res = await postJson(
      notification(PHONE_ID, { contacts: [{ profile: { name: 'Ana' }, wa_id: USER }], messages }),
    );
    expect(res.status).toBe(200);
    const rows = await inbox();
    expect(rows.map((r) => r.external_id)).toEqual(messages.map((x) => x.id));
    const ev = rows.map((r) => r.event);
    expect(rows.map((r) => r.kind)).toEqual([
      'text',
      'text',
      'image',
      'audio',
      'video',
      'document',
      'sticker',
      'location',
      'interactive',
      'interactive',
      'interactive',
      'reaction',
      'reaction',
      'contacts',
      'unsupported',
      'unknown',
    ]);
    expect(ev[0]).toMatchObject({ text: 'plain', answer: true, sentAt: '2024-11-28T13:20:00.000Z' });
    expect(ev[1]).toMatchObject({ replyTo: 'wamid.ORIGINAL' });
    expect(ev[2]).toMatchObject({
      text: 'look',
      media: { id: 'img-1', mimeType: 'image/jpeg', sha256: 'abc', caption: 'look' },
    });
    expect(ev[3]).toMatchObject({ media: { id: 'aud-1' }, extra: { voice: true } });
    expect(ev[5]).toMatchObject({ media: { id: 'doc-1', fileName: 'cv.pdf', caption: 'mi cv' } });
    expect(ev[7]).toMatchObject({
      location: { latitude: 19.43, longitude: -99.13, name: 'Zócalo', address: 'CDMX' },
    });
    expect(ev[8]).toMatchObject({ text: 'Sí', extra: { interactive: { type: 'button_reply', id: 'yes' } } });
    expect(ev[9]).toMatchObject({ text: 'Row', extra: { interactive: { description: 'first row' } } });
    expect(ev[10]).toMatchObject({ text: 'Stop promotions' });
    expect(ev[11]).toMatchObject({ answer: false, reaction: { messageId: 'wamid.OUT1', emoji: '❤️' } });
    expect(ev[12]).toMatchObject({ answer: false, reaction: { messageId: 'wamid.OUT1' } });
    expect((ev[12].reaction as { emoji?: string }).emoji).toBeUndefined();
    expect(ev[13]).toMatchObject({ extra: { contacts: [{ name: { formatted_name: 'Ana' } }] } });
    expect(ev[14]).toMatchObject({ answer: true, extra: { unsupported: { type: 'poll' } } });
    expect(ev[15]).toMatchObject({
      answer: false,
      extra: { type: 'hologram', payload: { id: 'h1' }, fields: { brand_new_field: { x: 1 } } },
    });
    // Reactions and unknown types are kept but not queued for an answer.
    expect(rows.filter((r) => r.status === 'ignored').map((r) => r.kind)).toEqual(['reaction', 'reaction', 'unknown']);
  });

  it('handles every entry, message, status and error item of one body', async () => {
    const ids = [newInboundWamid(), newInboundWamid(), newInboundWamid()];
    const msg = (id: string, from: string) => ({ from, id, timestamp: '1732800000', type: 'text', text: { body: id } });
    const body = notification(
      PHONE_ID,
      {
        contacts: [
          { profile: { name: 'A' }, wa_id: '111111' },
          { profile: { name: 'B' }, wa_id: '222222' },
        ],
        messages: [msg(ids[0], '111111'), msg(ids[1], '222222')],
        statuses: [{ id: 'wamid.S1', status: 'delivered', timestamp: '1732800001', recipient_id: '111111' }],
      },
      {
        messages: [msg(ids[2], '333333')],
        statuses: [{ id: 'wamid.S2', status: 'sent', timestamp: '1732800002', recipient_id: '333333' }],
        errors: [{ code: 131000, title: 'Something went wrong' }],
      },
    );
    const ignoredBefore = await counter('ignored');
    expect((await postJson(body)).status).toBe(200);
    const rows = await inbox();
    expect(rows.map((r) => r.external_id).sort()).toEqual([...ids].sort());
    expect(rows.find((r) => r.external_id === ids[1])?.event).toMatchObject({ chatId: '222222', displayName: 'B' });
    const st = await t.database.query<{ platform_message_id: string; status: string }>(
      'select platform_message_id, status from status_events order by platform_message_id',
    );
    expect(st.rows).toEqual([
      { platform_message_id: 'wamid.S1', status: 'delivered' },
      { platform_message_id: 'wamid.S2', status: 'sent' },
    ]);
    expect(await counter('ignored')).toBe(ignoredBefore + 1);
    expect(w.logs.text()).toContain('whatsapp reported an error');
  });

  it('stores a redelivery once, sent one after another or concurrently', async () => {
    const { body, wamid } = textNotification({ phoneNumberId: PHONE_ID, from: USER, text: 'una vez' });
    const raw = metaStringify(body);
    const dupBefore = await counter('duplicate');
    expect((await post(raw)).status).toBe(200);
    expect((await post(raw)).status).toBe(200);
    const concurrent = await Promise.all(Array.from({ length: 20 }, () => post(raw)));
    expect(concurrent.map((r) => r.status)).toEqual(Array(20).fill(200));
    const second = textNotification({ phoneNumberId: PHONE_ID, from: USER, text: 'otra' });
    const raw2 = metaStringify(second.body);
    expect((await Promise.all(Array.from({ length: 10 }, () => post(raw2)))).every((r) => r.status === 200)).toBe(true);
    const rows = await inbox();
    expect(rows.map((r) => r.external_id)).toEqual([wamid, second.wamid]);
    expect(await counter('duplicate')).toBe(dupBefore + 21 + 9);
    const conv = await t.database.query<{ messages_in: number }>(
      "select messages_in from conversations where channel = 'whatsapp' and chat_id = $1",
      [USER],
    );
    expect(conv.rows[0].messages_in).toBeGreaterThanOrEqual(2);
  });

  it('applies statuses monotonically, whatever order they arrive in, and keeps the failure', async () => {
    await t.database.query(
      `insert into outbox_messages (channel, chat_id, body, status, platform_message_id)
       values ('whatsapp', $1, 'a', 'sent', 'wamid.OUT-A'), ('whatsapp', $1, 'b', 'sent', 'wamid.OUT-B')`,
      [USER],
    );
    const status = (id: string, s: string, ts: string, extra: Record<string, unknown> = {}) =>
      notification(PHONE_ID, { statuses: [{ id, status: s, timestamp: ts, recipient_id: USER, ...extra }] });
    expect((await postJson(status('wamid.OUT-A', 'read', '1732800010'))).status).toBe(200);
    expect((await postJson(status('wamid.OUT-A', 'delivered', '1732800005'))).status).toBe(200);
    expect((await postJson(status('wamid.OUT-A', 'delivered', '1732800005'))).status).toBe(200);
    expect(
      (
        await postJson(
          status('wamid.OUT-B', 'failed', '1732800020', {
            errors: [
              {
                code: 131047,
                title: 'Re-engagement message',
                error_data: { details: 'Message failed to send because more than 24 hours have passed' },
              },
            ],
          }),
        )
      ).status,
    ).toBe(200);
    const rows = await t.database.query<Record<string, unknown>>(
      `select platform_message_id, status, read_at is not null as read, delivered_at is not null as delivered,
              error_code, error_title, error_detail, failure_reason
       from outbox_messages order by platform_message_id`,
    );
    expect(rows.rows[0]).toMatchObject({ status: 'read', read: true, delivered: true });
    expect(rows.rows[1]).toMatchObject({
      status: 'failed',
      error_code: '131047',
      error_title: 'Re-engagement message',
      failure_reason: 'window_closed',
    });
    expect(String(rows.rows[1].error_detail)).toContain('24 hours');
  });

  it('rejects oversized, malformed and wrongly typed bodies without storing anything', async () => {
    const malformedBefore = await counter('malformed');
    const big = Buffer.alloc(3 * 1024 * 1024 + 10, 0x20);
    const tooLarge = await post(big);
    expect(tooLarge.status).toBe(413);
    expect((await tooLarge.json()).error.code).toBe('payload_too_large');

    const broken = await post('{"object":"whatsapp_business_account","entry":[');
    expect(broken.status).toBe(400);
    expect((await broken.json()).error.code).toBe('malformed_json');

    const notObject = await post('[1,2]');
    expect(notObject.status).toBe(400);

    const raw = metaStringify(textNotification({ phoneNumberId: PHONE_ID, from: USER, text: 'x' }).body);
    const wrongType = await post(raw, { 'content-type': 'text/plain' });
    expect(wrongType.status).toBe(415);
    const form = await post(raw, { 'content-type': 'application/x-www-form-urlencoded' });
    expect(form.status).toBe(415);

    const withCharset = await post(raw, { 'content-type': 'application/json; charset=utf-8' });
    expect(withCharset.status).toBe(200);
    expect(await inbox()).toHaveLength(1);

    // 2.5 MB, above Fastify's default 1 MB but within Meta's 3 MB: accepted.
    const large = textNotification({ phoneNumberId: PHONE_ID, from: USER, text: 'grande' });
    const change = (large.body.entry as { changes: { value: Record<string, unknown> }[] }[])[0].changes[0];
    change.value.padding = 'x'.repeat(2.5 * 1024 * 1024);
    expect((await postJson(large.body)).status).toBe(200);
    expect(await inbox()).toHaveLength(2);
    expect(await counter('malformed')).toBe(malformedBefore + 5);
  });

  it('ignores notifications for another phone number and other fields with a 200', async () => {
    const other = textNotification({ phoneNumberId: '999999999', from: USER, text: 'not ours' });
    expect((await postJson(other.body)).status).toBe(200);
    const otherField = {
      object: 'whatsapp_business_account',
      entry: [{ id: '1', changes: [{ field: 'account_update', value: { event: 'VERIFIED' } }] }],
    };
    expect((await postJson(otherField)).status).toBe(200);
    const garbage = notification(PHONE_ID, {
      messages: [null, { id: 'no-from' }, 'text'] as unknown as Record<string, unknown>[],
      statuses: [{ id: 'x', status: 'exploded' }],
    });
    expect((await postJson(garbage)).status).toBe(200);
    expect(await inbox()).toEqual([]);
  });
});

describe('WhatsApp webhook when the database is down or the role is worker', () => {
  it('answers 503 with Retry-After, never 200, when the commit fails', async () => {
    const database = await openDatabase({ url: 'postgres://postgres@127.0.0.1:1/none', poolSize: 1 });
    const wadi = await createWadi(testConfig({ LOG_LEVEL: 'silent' }), {
      database,
      migrate: false,
      features: ['whatsapp'],
    });
    try {
      await wadi.app.ready();
      const raw = metaStringify(textNotification({ phoneNumberId: PHONE_ID, from: USER, text: 'hola' }).body);
      const res = await wadi.app.inject({
        method: 'POST',
        url: '/webhooks/whatsapp',
        headers: { 'content-type': 'application/json', 'x-hub-signature-256': signBody(raw, SECRET) },
        payload: raw,
      });
      expect(res.statusCode).toBe(503);
      expect(res.headers['retry-after']).toBeDefined();
      expect(res.json().error.code).toBe('unavailable');
    } finally {
      await wadi.stop();
      await database.close().catch(() => {});
    }
  });

  it('registers no webhook routes in the worker role, but still provides the sender', async () => {
    const t = await testDatabase();
    const wadi = await createWadi(testConfig({ LOG_LEVEL: 'silent' }), {
      database: t.database,
      role: 'worker',
      features: ['whatsapp'],
    });
    try {
      await wadi.app.ready();
      const res = await wadi.app.inject({ method: 'POST', url: '/webhooks/whatsapp', payload: {} });
      expect(res.statusCode).toBe(404);
      expect(wadi.wiring.senders.get('whatsapp')?.maxTextLength).toBe(4096);
    } finally {
      await wadi.stop();
      await t.drop();
    }
  });
});
