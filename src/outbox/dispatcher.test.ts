/**
 * Direct tests of the dispatcher: order, retry times, the WhatsApp 24 h window, blocked users and
 * chat migrations. Decision times come from a hand-moved clock (kernel/clock.ts): nothing sleeps
 * for a backoff or a window to pass.
 */
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../test/helpers/clock.ts';
import { type TestDb, testDatabase } from '../../test/helpers/db.ts';
import { TestSender } from '../../test/helpers/test-channel.ts';
import { PermanentSendError, RetryableSendError } from '../channels/errors.ts';
import type { ChannelName, ChannelSender } from '../channels/types.ts';
import type { Clock } from '../kernel/clock.ts';
import { OutboxDispatcher, WHATSAPP_WINDOW_MS } from './dispatcher.ts';
import { enqueueReplies } from './enqueue.ts';

/** A clock a little ahead of the database's, so rows queued with now() are due at once. */
const soon = () => new ManualClock(Date.now() + 5000);

interface OutRow {
  status: string;
  attempts: number;
  failure_reason: string | null;
  chat_id: string;
  available_at: Date;
  error_code: string | null;
}

describe('outbox dispatcher', () => {
  let t: TestDb;
  let inboxSeq = 0;
  const running: OutboxDispatcher[] = [];
  beforeAll(async () => {
    t = await testDatabase();
  });
  afterEach(async () => {
    for (const d of running.splice(0)) await d.stop();
  });
  afterAll(async () => t?.drop());

  function start(sender: ChannelSender, clock: Clock, maxAttempts = 5): OutboxDispatcher {
    const senders = new Map<ChannelName, ChannelSender>([[sender.channel, sender]]);
    const d = new OutboxDispatcher({
      database: t.database,
      logger: pino({ level: 'silent' }),
      senders: () => senders,
      concurrency: 4,
      maxAttempts,
      retryBaseMs: 1000,
      leaseMs: 30_000,
      pollMs: 60_000,
      clock,
    });
    running.push(d);
    d.start();
    return d;
  }

  /** A conversation (with an inbound message to answer) and its queued reply parts. */
  async function queue(channel: ChannelName, parts: string[], lastInboundAt: Date = new Date()) {
    const chatId = `chat-${Math.random().toString(36).slice(2)}`;
    const { rows } = await t.database.query<{ id: number }>(
      `insert into conversations (channel, chat_id, user_id, last_inbound_at) values ($1, $2, $2, $3) returning id`,
      [channel, chatId, lastInboundAt],
    );
    const conversationId = Number(rows[0].id);
    const inbox = await t.database.query<{ id: number }>(
      `insert into inbox_messages (channel, external_id, chat_id, conversation_id, kind, event, status)
       values ($1, $2, $3, $4, 'text', '{}'::jsonb, 'done') returning id`,
      [channel, `ext-${++inboxSeq}-${Math.random()}`, chatId, conversationId],
    );
    await enqueueReplies(t.database, [
      { channel, chatId, conversationId, inboxId: Number(inbox.rows[0].id), kind: 'text', parts },
    ]);
    for (const d of running) d.wake(); // as the turn's onQueued does
    return { chatId, conversationId };
  }

  const rows = async (conversationId: number) =>
    (
      await t.database.query<OutRow>(
        `select status, attempts, failure_reason, chat_id, available_at, error_code
         from outbox_messages where conversation_id = $1 order by part`,
        [conversationId],
      )
    ).rows;

  async function until(check: () => Promise<boolean>): Promise<void> {
    for (let i = 0; i < 500; i++) {
      if (await check()) return;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error('condition not reached');
  }

  it('sends the parts of a reply in order, each once, and counts them on the conversation', async () => {
    const sender = new TestSender('telegram');
    start(sender, soon());
    const { chatId, conversationId } = await queue('telegram', ['uno', 'dos', 'tres']);
    const messagesOut = async () =>
      (
        await t.database.query<{ messages_out: number }>('select messages_out from conversations where id = $1', [
          conversationId,
        ])
      ).rows[0].messages_out;
    // The count follows each part's sent record (its own statement): wait for both.
    await until(
      async () => (await rows(conversationId)).every((r) => r.status === 'sent') && (await messagesOut()) >= 3,
    );
    expect(sender.textsTo(chatId)).toEqual(['uno', 'dos', 'tres']);
    expect(await messagesOut()).toBe(3);
  });

  it('retries a throttled send no earlier than the platform asked, and the next part waits for it', async () => {
    const sender = new TestSender('telegram');
    const clock = soon();
    const d = start(sender, clock);
    sender.failNext(() => new RetryableSendError('429', { code: '429', retryAfterMs: 120_000 }));
    const { chatId, conversationId } = await queue('telegram', ['primero', 'segundo']);
    await until(
      async () =>
        (await rows(conversationId))[0].attempts === 1 && (await rows(conversationId))[0].status === 'pending',
    );
    const [first, second] = await rows(conversationId);
    expect(first.error_code).toBe('429');
    expect(new Date(first.available_at).getTime()).toBeGreaterThanOrEqual(clock.t + 120_000 - 1);
    expect(second.status).toBe('pending');
    // A minute later nothing is due yet: still nothing sent.
    clock.t += 60_000;
    d.wake();
    await new Promise((r) => setTimeout(r, 50));
    expect(sender.sends).toHaveLength(0);
    clock.t += 61_000;
    d.wake();
    await until(async () => (await rows(conversationId)).every((r) => r.status === 'sent'));
    expect(sender.textsTo(chatId)).toEqual(['primero', 'segundo']);
    expect((await rows(conversationId))[0].attempts).toBe(2);
  });

  it('fails with retries_exhausted after the last attempt', async () => {
    const sender = new TestSender('telegram');
    const clock = soon();
    const d = start(sender, clock, 2);
    sender.failNext(
      () => new RetryableSendError('boom'),
      () => new RetryableSendError('boom'),
    );
    const { conversationId } = await queue('telegram', ['x']);
    // Wait for the first failed attempt (the row is 'pending' before it too), then move past its retry time.
    await until(async () => {
      const [r] = await rows(conversationId);
      return r.attempts === 1 && r.status === 'pending';
    });
    clock.t += 3_600_000;
    d.wake();
    await until(async () => (await rows(conversationId))[0].status === 'failed');
    expect((await rows(conversationId))[0]).toMatchObject({ failure_reason: 'retries_exhausted', attempts: 2 });
    expect(sender.sends).toHaveLength(0);
  });

  it('refuses WhatsApp replies past the 24 h window without sending, and sends inside it', async () => {
    const sender = new TestSender('whatsapp');
    const lastInbound = new Date(Date.now() - 3_600_000);
    const clock = new ManualClock(lastInbound.getTime() + WHATSAPP_WINDOW_MS + 1000);
    start(sender, clock);
    const late = await queue('whatsapp', ['tarde'], lastInbound);
    await until(async () => (await rows(late.conversationId))[0].status === 'failed');
    expect((await rows(late.conversationId))[0].failure_reason).toBe('window_closed');
    expect(sender.sends).toHaveLength(0);

    clock.t = lastInbound.getTime() + WHATSAPP_WINDOW_MS - 1000;
    const inTime = await queue('whatsapp', ['a tiempo'], lastInbound);
    await until(async () => (await rows(inTime.conversationId))[0].status === 'sent');
    expect(sender.textsTo(inTime.chatId)).toEqual(['a tiempo']);
  });

  it('a user who blocked the bot: the conversation is marked blocked and everything queued for them fails', async () => {
    const sender = new TestSender('telegram');
    start(sender, soon());
    sender.failNext(() => new PermanentSendError('Forbidden: bot was blocked by the user', { reason: 'blocked' }));
    const { conversationId } = await queue('telegram', ['a', 'b', 'c']);
    await until(async () => (await rows(conversationId)).every((r) => r.status === 'failed'));
    expect((await rows(conversationId)).map((r) => r.failure_reason)).toEqual(['blocked', 'blocked', 'blocked']);
    const c = await t.database.query<{ blocked: boolean }>('select blocked from conversations where id = $1', [
      conversationId,
    ]);
    expect(c.rows[0].blocked).toBe(true);
    expect(sender.sends).toHaveLength(0);
  });

  it('follows a chat migration: the conversation and its queued parts move, the part is resent there', async () => {
    const sender = new TestSender('telegram');
    start(sender, soon());
    const newChat = `-100${Math.floor(Math.random() * 1e9)}`;
    sender.failNext(() => new PermanentSendError('migrated', { reason: 'permanent', migrateToChatId: newChat }));
    const { conversationId } = await queue('telegram', ['uno', 'dos']);
    await until(async () => (await rows(conversationId)).every((r) => r.status === 'sent'));
    expect(sender.textsTo(newChat)).toEqual(['uno', 'dos']);
    expect((await rows(conversationId)).map((r) => r.chat_id)).toEqual([newChat, newChat]);
    const c = await t.database.query<{ chat_id: string }>('select chat_id from conversations where id = $1', [
      conversationId,
    ]);
    expect(c.rows[0].chat_id).toBe(newChat);
  });
});
