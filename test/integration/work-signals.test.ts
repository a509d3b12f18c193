/**
 * Wake-up signals of the work queues (issue 20): idle workers and dispatchers sleep on
 * LISTEN/NOTIFY (migration 0009's triggers) instead of polling. Every loop here polls once a minute
 * at most, so work picked up within the test's time came from a notification: stored by another
 * connection (another process), put back to pending, or after the notification connection was
 * killed and came back by itself.
 */
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChannelName, ChannelSender } from '../../src/channels/types.ts';
import { type Database, openDatabase, type Subscription } from '../../src/db/client.ts';
import type { ClaimedTurn } from '../../src/inbox/claim.ts';
import { InboxWorker } from '../../src/inbox/worker.ts';
import { InboxWriter } from '../../src/inbox/writer.ts';
import { OutboxDispatcher } from '../../src/outbox/dispatcher.ts';
import { enqueueReplies } from '../../src/outbox/enqueue.ts';
import { backends, closeBeforeDrop, type TestDb, testDatabase } from '../helpers/db.ts';
import { TestSender } from '../helpers/test-channel.ts';

const MINUTE = 60_000;
let seq = 0;

function event(chatId: string) {
  return {
    channel: 'telegram' as const,
    externalId: `update:${++seq}:${Math.random()}`,
    chatId,
    userId: chatId,
    chatType: 'private' as const,
    kind: 'text' as const,
    text: 'hola',
    sentAt: new Date().toISOString(),
    answer: true,
  };
}

async function until(what: string, ok: () => boolean | Promise<boolean>, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe.each(backends())('work signals (%s)', (backend) => {
  let t: TestDb;
  /** The "other process": a second pool on the same database (PGlite: the same session). */
  let other: Database;
  let sub: Subscription | undefined;
  const states: boolean[] = [];
  const turns: ClaimedTurn[] = [];
  const sender = new TestSender('telegram');
  let worker: InboxWorker;
  let dispatcher: OutboxDispatcher;

  beforeAll(async () => {
    t = await testDatabase(backend);
    if (t.url) {
      other = await openDatabase({ url: t.url, poolSize: 2 });
      closeBeforeDrop(t.url, () => other.close());
    } else {
      other = t.database;
    }
    worker = new InboxWorker({
      database: t.database,
      logger: pino({ level: 'silent' }),
      concurrency: 4,
      leaseMs: 30_000,
      debounceMs: 0,
      pollMs: MINUTE,
      fallbackPollMs: MINUTE,
      maxAttempts: 3,
      retryBaseMs: MINUTE,
      graceMs: 200,
      gaugeMs: 0,
      handle: async (turn, _signal, lease) => {
        await t.database.transaction((tx) =>
          lease.complete(tx, { answeredBy: new Map(turn.messages.map((m) => [m.id, m.id])) }),
        );
        turns.push(turn);
      },
    });
    const senders = new Map<ChannelName, ChannelSender>([['telegram', sender]]);
    dispatcher = new OutboxDispatcher({
      database: t.database,
      logger: pino({ level: 'silent' }),
      senders: () => senders,
      concurrency: 2,
      maxAttempts: 3,
      retryBaseMs: 1000,
      leaseMs: 30_000,
      pollMs: MINUTE,
      fallbackPollMs: MINUTE,
    });
    worker.start();
    dispatcher.start();
    sub = t.database.listen(['wadi_inbox', 'wadi_outbox'], {
      onNotify: (channel) => (channel === 'wadi_inbox' ? worker.notified() : dispatcher.wake()),
      onState: (listening) => {
        states.push(listening);
        worker.setSignalled(listening);
        dispatcher.setSignalled(listening);
      },
    });
    await until('the notification connection', () => sub?.listening === true);
  });
  afterAll(async () => {
    await sub?.close();
    await worker?.stop();
    await dispatcher?.stop();
    await t?.drop();
  });

  it('a message stored by another process is claimed at once, without a poll', async () => {
    const before = turns.length;
    // No 'committed' event reaches this worker: only the trigger's NOTIFY can wake it.
    const { ids } = await new InboxWriter(other).accept([event('501')]);
    await until('the turn', () => turns.length > before);
    expect(turns.at(-1)?.messages.map((m) => m.id)).toEqual(ids);
    const { rows } = await t.database.query<{ status: string }>('select status from inbox_messages where id = $1', [
      ids[0],
    ]);
    expect(rows[0].status).toBe('done');
  });

  it('a dead letter put back to pending (an operator replaying it) is claimed at once', async () => {
    const { ids } = await new InboxWriter(other).accept([event('502')]);
    await until('the first turn', () => turns.some((x) => x.messages.some((m) => m.id === ids[0])));
    const before = turns.length;
    await other.query(`update inbox_messages set status = 'dead' where id = $1`, [ids[0]]);
    await other.query(`update inbox_messages set status = 'pending', available_at = now() where id = $1`, [ids[0]]);
    await until('the replayed turn', () => turns.length > before);
    expect(turns.at(-1)?.messages.map((m) => m.id)).toEqual(ids);
  });

  it('a reply queued by another process is sent at once, without a poll', async () => {
    const { rows } = await other.query<{ id: number }>(
      `insert into conversations (channel, chat_id, user_id) values ('telegram', '503', '503') returning id`,
    );
    const conversationId = Number(rows[0].id);
    const inbox = await other.query<{ id: number }>(
      `insert into inbox_messages (channel, external_id, chat_id, conversation_id, kind, event, status)
       values ('telegram', 'ext-503', '503', $1, 'text', '{}'::jsonb, 'done') returning id`,
      [conversationId],
    );
    await enqueueReplies(other, [
      {
        channel: 'telegram',
        chatId: '503',
        conversationId,
        inboxId: Number(inbox.rows[0].id),
        kind: 'text',
        parts: ['hola 503'],
      },
    ]);
    await until('the send', () => sender.textsTo('503').length > 0);
    expect(sender.textsTo('503')).toEqual(['hola 503']);
  });

  it.runIf(backend === 'postgres')(
    'the notification connection killed by the server comes back by itself, and signals work again',
    async () => {
      const killed = await t.database.query<{ n: number }>(
        `select count(pg_terminate_backend(pid))::int as n from pg_stat_activity
         where datname = current_database() and application_name = 'wadi-listen'`,
      );
      expect(killed.rows[0].n).toBe(1);
      await until('the loss to be noticed', () => states.includes(false));
      await until('the reconnect', () => sub?.listening === true);
      expect(states.slice(-2)).toEqual([false, true]);
      const before = turns.length;
      const { ids } = await new InboxWriter(other).accept([event('504')]);
      await until('the turn', () => turns.length > before);
      expect(turns.at(-1)?.messages.map((m) => m.id)).toEqual(ids);
    },
  );
});
