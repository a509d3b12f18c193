import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedConversation, seedInbound, seedOutbound } from '../../test/helpers/admin-seed.ts';
import { backends, type TestDb, testDatabase } from '../../test/helpers/db.ts';
import {
  claimDueHandoffs,
  conversationState,
  handoffNotified,
  handoffNotifyFailed,
  markOperatorActive,
  optIn,
  optOut,
  requestHandoff,
  resumeConversation,
  resumeIdleConversations,
} from './conversation-states.ts';
import { eraseUser, purgeOldContent, userHash } from './erasure.ts';

const row = async (t: TestDb, id: number) =>
  (
    await t.database.query<Record<string, unknown>>(
      `select paused, blocked, handoff_requested_at, handoff_trigger, handoff_notify_at, operator_active_at,
         opted_out_at from conversations where id = $1`,
      [id],
    )
  ).rows[0];

const stateOf = async (t: TestDb, id: number) => {
  const r = await row(t, id);
  return conversationState({
    blocked: Boolean(r.blocked),
    paused: Boolean(r.paused),
    handoffRequestedAt: r.handoff_requested_at,
    optedOutAt: r.opted_out_at,
  });
};

describe.each(backends())('conversation states on %s', (backend) => {
  let t: TestDb;
  beforeAll(async () => {
    t = await testDatabase(backend);
  });
  afterAll(async () => t?.drop());

  it('a handoff silences the bot once, is claimed for on-call once, and ends on resume', async () => {
    const id = await seedConversation(t.database, { chatId: '34611111111', name: 'Ana' });
    expect(await stateOf(t, id)).toBe('active');
    expect(await requestHandoff(t.database, id, 'command', true)).toBe(true);
    expect(await stateOf(t, id)).toBe('needs_human');
    // Asking again is not a new request: nobody is told twice.
    expect(await requestHandoff(t.database, id, 'keyword', true)).toBe(false);
    expect((await row(t, id)).handoff_trigger).toBe('command');

    const [claimed, again] = await Promise.all([
      claimDueHandoffs(t.database, 10, 60_000),
      claimDueHandoffs(t.database, 10, 60_000),
    ]);
    expect([...claimed, ...again].filter((h) => h.id === id)).toHaveLength(1);
    // Claimed with a lease: not due again until it expires or fails.
    expect((await claimDueHandoffs(t.database, 10, 60_000)).some((h) => h.id === id)).toBe(false);
    await handoffNotifyFailed(t.database, id, 0);
    const retry = await claimDueHandoffs(t.database, 10, 60_000);
    expect(retry.find((h) => h.id === id)?.handoff_notify_attempts).toBe(2);
    await handoffNotified(t.database, id);
    expect((await row(t, id)).handoff_notify_at).toBeNull();

    expect(await resumeConversation(t.database, id)).toBe(true);
    expect(await stateOf(t, id)).toBe('active');
    expect(await resumeConversation(t.database, 999_999)).toBe(false);
  });

  it('without an alert destination nobody is due to be told', async () => {
    const id = await seedConversation(t.database, { chatId: '34611111112' });
    expect(await requestHandoff(t.database, id, 'keyword', false)).toBe(true);
    expect((await row(t, id)).handoff_notify_at).toBeNull();
    expect((await claimDueHandoffs(t.database, 10, 60_000)).some((h) => h.id === id)).toBe(false);
  });

  it('resumes conversations idle for HANDOFF_IDLE_MINUTES, not ones an operator is working on', async () => {
    const idle = await seedConversation(t.database, { chatId: '34611111113' });
    const busy = await seedConversation(t.database, { chatId: '34611111114' });
    await requestHandoff(t.database, idle, 'command', false);
    await t.database.query(
      `update conversations set handoff_requested_at = now() - interval '31 minutes' where id = $1`,
      [idle],
    );
    await requestHandoff(t.database, busy, 'command', false);
    await t.database.query(`update conversations set handoff_requested_at = now() - interval '2 hours' where id = $1`, [
      busy,
    ]);
    expect(await markOperatorActive(t.database, busy)).toBe(true);
    const resumed = await resumeIdleConversations(t.database, 30);
    expect(resumed).toContain(idle);
    expect(resumed).not.toContain(busy);
    expect(await stateOf(t, idle)).toBe('active');
    expect(await stateOf(t, busy)).toBe('needs_human');
  });

  it('opts out and back in, idempotently', async () => {
    const id = await seedConversation(t.database, { chatId: '34611111115' });
    expect(await optOut(t.database, id)).toBe(true);
    expect(await optOut(t.database, id)).toBe(false);
    expect(await stateOf(t, id)).toBe('opted_out');
    expect(await optIn(t.database, id)).toBe(true);
    expect(await optIn(t.database, id)).toBe(false);
    expect(await stateOf(t, id)).toBe('active');
  });

  it('erases one user everywhere and leaves the others alone', async () => {
    const gone = await seedConversation(t.database, { chatId: '34622222222', name: 'Borrar' });
    const kept = await seedConversation(t.database, { chatId: '34633333333', name: 'Quedar' });
    for (const [id, chat] of [
      [gone, '34622222222'],
      [kept, '34633333333'],
    ] as const) {
      const inId = await seedInbound(t.database, { conversationId: id, chatId: chat, text: `hola ${chat}` });
      const outId = await seedOutbound(t.database, {
        conversationId: id,
        chatId: chat,
        inboxId: inId,
        text: 'respuesta',
        status: 'sent',
      });
      await t.database.query(`update outbox_messages set platform_message_id = $2 where id = $1`, [outId, `w.${chat}`]);
      await t.database.query(
        `insert into status_events (channel, platform_message_id, status, detail) values ('whatsapp', $1, 'read', $2)`,
        [`w.${chat}`, JSON.stringify({ recipientId: chat })],
      );
      await t.database.query(`insert into history (conversation_id, role, content) values ($1, 'user', 'x')`, [id]);
      // What a tool was asked and answered for this person is theirs too.
      await t.database.query(
        `insert into tool_calls (inbox_id, conversation_id, step, round, call_id, tool, arguments, result, outcome)
         values ($1, $2, 0, 0, 'c1', 'lookup_order', $3, $4, 'ok')`,
        [inId, id, JSON.stringify({ phone: chat }), `pedido de ${chat}`],
      );
    }
    // Raw deliveries the database refused (a NUL, a lone surrogate): one names the user, one names a
    // longer number that merely contains theirs, one is another channel's.
    const raw = (s: string) => Buffer.from(s, 'utf8').toString('base64');
    const unstorable = async (channel: string, body: string) =>
      (
        await t.database.query<{ id: number }>(
          `insert into unstorable_deliveries (channel, reason, items, bytes, raw_base64)
           values ($1, 'nul', 1, $2, $3) returning id`,
          [channel, body.length, raw(body)],
        )
      ).rows[0].id;
    const namesUser = await unstorable('whatsapp', '{"from":"34622222222","text":{"body":"a\u0000\ud800"}}');
    const longer = await unstorable('whatsapp', '{"from":"346222222229","text":{"body":"\u0000"}}');
    const otherChannel = await unstorable('telegram', '{"message":{"from":{"id":34622222222},"text":"\u0000"}}');
    const r = await t.database.transaction((tx) => eraseUser(tx, 'whatsapp', '34622222222'));
    expect(r).toEqual({
      conversations: 1,
      inbound: 1,
      outbound: 1,
      history: 1,
      statusEvents: 1,
      toolCalls: 1,
      unstorable: 1,
    });
    const left = await t.database.query<{ id: number }>('select id from unstorable_deliveries order by id');
    expect(left.rows.map((x) => Number(x.id))).toEqual([longer, otherChannel].map(Number));
    expect(left.rows.map((x) => Number(x.id))).not.toContain(Number(namesUser));
    const tools = await t.database.query<{ arguments: { phone: string } }>('select arguments from tool_calls');
    expect(tools.rows.map((x) => x.arguments.phone)).toEqual(['34633333333']);
    const count = async (sql: string) => Number((await t.database.query<{ n: number }>(sql)).rows[0].n);
    expect(await count(`select count(*)::int as n from conversations where chat_id = '34622222222'`)).toBe(0);
    expect(await count(`select count(*)::int as n from inbox_messages where chat_id = '34622222222'`)).toBe(0);
    expect(
      await count(`select count(*)::int as n from status_events where platform_message_id = 'w.34622222222'`),
    ).toBe(0);
    expect(await count(`select count(*)::int as n from inbox_messages where conversation_id = ${kept}`)).toBe(1);
    expect(await count(`select count(*)::int as n from history where conversation_id = ${kept}`)).toBe(1);
    // A second erasure finds nothing; the hash names the person without keeping who they were.
    expect((await eraseUser(t.database, 'whatsapp', '34622222222')).conversations).toBe(0);
    expect(userHash('whatsapp', '34622222222')).toMatch(/^[0-9a-f]{64}$/);
    expect(userHash('whatsapp', '34622222222')).not.toContain('34622222222');
  });

  it('purges old content and keeps the rows that counters and timings come from', async () => {
    const id = await seedConversation(t.database, { chatId: '34644444444' });
    const oldIn = await seedInbound(t.database, { conversationId: id, chatId: '34644444444', text: 'viejo secreto' });
    const newIn = await seedInbound(t.database, { conversationId: id, chatId: '34644444444', text: 'nuevo' });
    const oldOut = await seedOutbound(t.database, {
      conversationId: id,
      chatId: '34644444444',
      text: 'respuesta vieja',
      status: 'read',
    });
    await t.database.query(`update inbox_messages set received_at = now() - interval '40 days' where id = $1`, [oldIn]);
    // What the media step understood (a voice note's transcript) is content too.
    await t.database.query(`update inbox_messages set media = $2::jsonb where id in ($1, $3)`, [
      oldIn,
      JSON.stringify({ kind: 'audio', outcome: 'ok', text: 'transcripción secreta' }),
      newIn,
    ]);
    await t.database.query(`update outbox_messages set created_at = now() - interval '40 days' where id = $1`, [
      oldOut,
    ]);
    await t.database.query(
      `insert into history (conversation_id, role, content, created_at) values ($1, 'user', 'viejo', now() - interval '40 days'),
       ($1, 'user', 'nuevo', now())`,
      [id],
    );
    const oldTool = await t.database.query<{ id: number }>(
      `insert into tool_calls (inbox_id, conversation_id, step, round, call_id, tool, arguments, result, outcome,
         started_at, finished_at)
       values ($1, $2, 0, 0, 'c-old', 'lookup_order', '{"order":"viejo secreto"}', 'resultado viejo', 'ok',
         now() - interval '40 days', now() - interval '40 days') returning id`,
      [oldIn, id],
    );
    await t.database.query(
      `insert into tool_calls (inbox_id, conversation_id, step, round, call_id, tool, arguments, result, outcome)
       values ($1, $2, 0, 0, 'c-new', 'lookup_order', '{"order":"nuevo"}', 'resultado nuevo', 'ok')`,
      [newIn, id],
    );
    await t.database.query(
      `insert into unstorable_deliveries (channel, received_at, reason, items, bytes, raw_base64) values
         ('whatsapp', now() - interval '40 days', 'nul', 2, 40, $1), ('whatsapp', now(), 'nul', 1, 20, $2)`,
      [Buffer.from('viejo \\u0000').toString('base64'), Buffer.from('nuevo \\u0000').toString('base64')],
    );
    const first = await purgeOldContent(t.database, 30);
    expect(first.toolCalls).toBeGreaterThanOrEqual(1);
    expect(first.unstorable).toBeGreaterThanOrEqual(1);
    const tools = await t.database.query<{ id: number; arguments: unknown; result: string | null; outcome: string }>(
      `select id, arguments, result, outcome, finished_at is not null as finished from tool_calls
       where conversation_id = $1 order by id`,
      [id],
    );
    // The tool, its outcome and timings stay (wadi_tool_calls_total is rebuilt from nothing but these).
    expect(tools.rows).toEqual([
      { id: oldTool.rows[0].id, arguments: { purged: true }, result: null, outcome: 'ok', finished: true },
      expect.objectContaining({ arguments: { order: 'nuevo' }, result: 'resultado nuevo', outcome: 'ok' }),
    ]);
    const raws = await t.database.query<{ raw: string; items: number; bytes: number }>(
      `select convert_from(decode(raw_base64, 'base64'), 'UTF8') as raw, items, bytes from unstorable_deliveries
       where reason = 'nul' and bytes in (40, 20) order by bytes desc`,
    );
    expect(raws.rows).toEqual([
      { raw: '', items: 2, bytes: 40 },
      { raw: 'nuevo \\u0000', items: 1, bytes: 20 },
    ]);
    expect(first.inbound).toBeGreaterThanOrEqual(1);
    expect(first.outbound).toBeGreaterThanOrEqual(1);
    expect(first.history).toBeGreaterThanOrEqual(1);
    const texts = await t.database.query<{ id: number; text: string | null; transcript: string | null }>(
      `select id, event->>'text' as text, media->>'text' as transcript from inbox_messages
       where conversation_id = $1 order by id`,
      [id],
    );
    expect(texts.rows).toEqual([
      { id: oldIn, text: null, transcript: null },
      { id: newIn, text: 'nuevo', transcript: 'transcripción secreta' },
    ]);
    const out = await t.database.query<{ body: string; status: string }>(
      'select body, status from outbox_messages where id = $1',
      [oldOut],
    );
    expect(out.rows[0]).toEqual({ body: '', status: 'read' });
    const hist = await t.database.query<{ content: string }>('select content from history where conversation_id = $1', [
      id,
    ]);
    expect(hist.rows.map((h) => h.content)).toEqual(['nuevo']);
    // Nothing left to purge: a second run changes nothing.
    expect(await purgeOldContent(t.database, 30)).toEqual({
      inbound: 0,
      outbound: 0,
      history: 0,
      toolCalls: 0,
      unstorable: 0,
    });
  });
});
