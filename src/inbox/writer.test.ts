import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends, type TestDb, testDatabase } from '../../test/helpers/db.ts';
import type { InboundEvent, StatusEvent } from '../channels/types.ts';
import { InboxWriter } from './writer.ts';

let seq = 0;
function event(over: Partial<InboundEvent> = {}): InboundEvent {
  seq++;
  return {
    channel: 'whatsapp',
    externalId: `wamid.test.${seq}.${Math.random()}`,
    chatId: '34600000001',
    userId: '34600000001',
    displayName: 'Ana',
    chatType: 'private',
    kind: 'text',
    text: `hola ${seq}`,
    sentAt: new Date(1_700_000_000_000 + seq * 1000).toISOString(),
    answer: true,
    ...over,
  };
}

describe.each(backends())('inbox writer on %s', (backend) => {
  let t: TestDb;
  let writer: InboxWriter;
  beforeAll(async () => {
    t = await testDatabase(backend);
    writer = new InboxWriter(t.database);
  });
  afterAll(async () => t.drop());

  const count = async (sql: string, params: unknown[] = []) =>
    (await t.database.query<{ n: number }>(sql, params)).rows[0].n;

  it('stores every event of a delivery and creates the conversation', async () => {
    const chatId = `chat-${Math.random()}`;
    const evs = [event({ chatId }), event({ chatId }), event({ chatId, kind: 'image', text: undefined })];
    const r = await writer.accept(evs);
    expect(r).toMatchObject({ accepted: 3, duplicates: 0 });
    expect(r.ids).toHaveLength(3);
    expect(await count('select count(*)::int as n from inbox_messages where chat_id = $1', [chatId])).toBe(3);
    const conv = await t.database.query<{ messages_in: number; display_name: string; last_inbound_at: Date }>(
      'select messages_in, display_name, last_inbound_at from conversations where chat_id = $1',
      [chatId],
    );
    expect(conv.rows[0].messages_in).toBe(3);
    expect(conv.rows[0].display_name).toBe('Ana');
    expect(new Date(conv.rows[0].last_inbound_at).toISOString()).toBe(evs[2].sentAt);
  });

  it('stores every column of every event of a batch as sent, in order, absent fields as null', async () => {
    const chatId = `cols-${Math.random()}`;
    const full = event({ chatId, locale: 'es-MX', displayName: 'Ana "la" \\ O\'Brien, {x}' });
    const bare = event({ chatId: `${chatId}-b`, userId: undefined, displayName: undefined, kind: 'reaction' });
    const quoted = event({ chatId: `${chatId}-q`, text: 'comillas " y barras \\ y llaves {}, ¿cómo? 😀' });
    const traced = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    // One flush at a time: while the first delivery is written, the next two queue into one batch.
    const single = new InboxWriter(t.database, { maxConcurrentFlushes: 1 });
    const results = await Promise.all([
      single.accept([event({ chatId: `${chatId}-first` })]),
      single.accept([full, bare], [], traced),
      single.accept([quoted]),
    ]);
    expect(results.map((r) => r.accepted)).toEqual([1, 2, 1]);
    const { rows } = await t.database.query<Record<string, unknown>>(
      `select i.id, i.external_id, i.chat_id, i.kind, i.status, i.sent_at, i.trace_context, i.event, c.user_id,
              c.display_name, c.chat_type, c.locale
       from inbox_messages i join conversations c on c.id = i.conversation_id
       where i.chat_id like $1 order by i.id`,
      [`${chatId}%`],
    );
    // Ids follow the order the events were given, within a delivery and across the batch.
    expect(rows.map((r) => r.id)).toEqual(results.flatMap((r) => r.ids));
    const [, a, b, c] = rows;
    expect(a).toMatchObject({
      external_id: full.externalId,
      chat_id: chatId,
      kind: 'text',
      status: 'pending',
      trace_context: traced,
      user_id: full.userId,
      display_name: full.displayName,
      chat_type: 'private',
      locale: 'es-MX',
      event: JSON.parse(JSON.stringify(full)),
    });
    expect(new Date(a.sent_at as string).toISOString()).toBe(full.sentAt);
    expect(b).toMatchObject({
      external_id: bare.externalId,
      kind: 'reaction',
      user_id: null,
      display_name: null,
      locale: null,
    });
    expect(c).toMatchObject({ external_id: quoted.externalId, event: { text: quoted.text } });
  });

  it('stores a redelivered event once, sequentially and concurrently', async () => {
    const e = event({ chatId: `dup-${Math.random()}` });
    expect((await writer.accept([e])).accepted).toBe(1);
    expect(await writer.accept([e])).toMatchObject({ accepted: 0, duplicates: 1 });
    const f = event({ chatId: e.chatId });
    const results = await Promise.all(Array.from({ length: 20 }, () => writer.accept([f])));
    expect(results.reduce((n, r) => n + r.accepted, 0)).toBe(1);
    expect(results.reduce((n, r) => n + r.duplicates, 0)).toBe(19);
    expect(await count('select count(*)::int as n from inbox_messages where chat_id = $1', [e.chatId])).toBe(2);
    // The counter is exact for sequential redeliveries; concurrent ones in separate commits may
    // count an event twice (the event itself is stored once; /admin counts rows).
    expect(
      await count('select messages_in as n from conversations where chat_id = $1', [e.chatId]),
    ).toBeGreaterThanOrEqual(2);
  });

  it('group-commits many concurrent deliveries from many users', async () => {
    const evs = Array.from({ length: 200 }, (_, i) => event({ chatId: `group-${i % 37}` }));
    const results = await Promise.all(evs.map((e) => writer.accept([e])));
    expect(results.every((r) => r.accepted === 1)).toBe(true);
    expect(await count(`select count(*)::int as n from inbox_messages where chat_id like 'group-%'`)).toBe(200);
  });

  it('records without answering what must not be answered', async () => {
    const e = event({ kind: 'reaction', answer: false, chatId: `react-${Math.random()}` });
    await writer.accept([e]);
    const { rows } = await t.database.query<{ status: string }>(
      'select status from inbox_messages where external_id = $1',
      [e.externalId],
    );
    expect(rows[0].status).toBe('ignored');
  });

  it('moves outbound messages forward by status, never backwards, and dedupes statuses', async () => {
    const pid = `wamid.out.${Math.random()}`;
    await t.database.query(
      `insert into outbox_messages (channel, chat_id, body, status, platform_message_id) values ('whatsapp', '1', 'hi', 'sent', $1)`,
      [pid],
    );
    const st = (status: StatusEvent['status'], at: number, error?: StatusEvent['error']): StatusEvent => ({
      channel: 'whatsapp',
      platformMessageId: pid,
      status,
      occurredAt: new Date(1_700_000_000_000 + at).toISOString(),
      error,
    });
    const read = await writer.accept([], [st('read', 2000)]);
    expect(read.statuses).toBe(1);
    await writer.accept([], [st('delivered', 1000)]);
    const again = await writer.accept([], [st('read', 2000)]);
    expect(again).toMatchObject({ statuses: 0, duplicateStatuses: 1 });
    let row = (
      await t.database.query<{ status: string; delivered_at: Date; read_at: Date }>(
        'select status, delivered_at, read_at from outbox_messages where platform_message_id = $1',
        [pid],
      )
    ).rows[0];
    expect(row.status).toBe('read');
    expect(row.delivered_at).not.toBeNull();
    expect(row.read_at).not.toBeNull();

    const pid2 = `wamid.out.${Math.random()}`;
    await t.database.query(
      `insert into outbox_messages (channel, chat_id, body, status, platform_message_id) values ('whatsapp', '1', 'hi', 'sent', $1)`,
      [pid2],
    );
    await writer.accept(
      [],
      [
        {
          ...st('failed', 3000, {
            code: '131047',
            title: 'Re-engagement message',
            detail: 'More than 24 hours',
            reason: 'window_closed',
          }),
          platformMessageId: pid2,
        },
      ],
    );
    row = (
      await t.database.query<{ status: string; error_code: string; failure_reason: string }>(
        'select status, error_code, failure_reason from outbox_messages where platform_message_id = $1',
        [pid2],
      )
    ).rows[0] as never;
    expect(row).toMatchObject({ status: 'failed', error_code: '131047', failure_reason: 'window_closed' });
  });

  it('keeps a status that arrives before its outbound row, unapplied', async () => {
    const pid = `wamid.early.${Math.random()}`;
    const r = await writer.accept(
      [],
      [{ channel: 'whatsapp', platformMessageId: pid, status: 'delivered', occurredAt: new Date().toISOString() }],
    );
    expect(r.statuses).toBe(1);
    const { rows } = await t.database.query<{ applied: boolean }>(
      'select applied from status_events where platform_message_id = $1',
      [pid],
    );
    expect(rows[0].applied).toBe(false);
  });
});
