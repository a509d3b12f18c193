import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestDb, testDatabase } from '../../test/helpers/db.ts';
import { TestSender } from '../../test/helpers/test-channel.ts';
import { type Assistant, AssistantUnavailableError } from '../assistant/assistant.ts';
import { runTurn } from '../conversation/turn.ts';
import { TypingKeeper } from '../conversation/typing.ts';
import type { ClaimedTurn } from './claim.ts';
import { InboxWorker } from './worker.ts';
import { InboxWriter } from './writer.ts';

/** An LLM that never answers until aborted. */
const stuck: Assistant = {
  name: 'stuck',
  reply: (req) =>
    new Promise((_, reject) => {
      req.signal?.addEventListener('abort', () => reject(new AssistantUnavailableError('aborted')));
    }),
};

describe('inbox worker shutdown', () => {
  let t: TestDb;
  beforeAll(async () => {
    t = await testDatabase();
  });
  afterAll(async () => t?.drop());

  it('hands the turn in hand back on stop: pending again, attempt not counted, no notice, conversation free', async () => {
    const writer = new InboxWriter(t.database);
    const sender = new TestSender('telegram');
    const typing = new TypingKeeper();
    const { ids } = await writer.accept([
      {
        channel: 'telegram',
        externalId: 'update:1',
        chatId: '777',
        userId: '777',
        chatType: 'private',
        kind: 'text',
        text: 'hola',
        sentAt: new Date().toISOString(),
        answer: true,
      },
    ]);
    let started = false;
    const worker = new InboxWorker({
      database: t.database,
      logger: pino({ level: 'silent' }),
      concurrency: 2,
      leaseMs: 30_000,
      debounceMs: 0,
      pollMs: 20,
      maxAttempts: 3,
      retryBaseMs: 10,
      graceMs: 200,
      gaugeMs: 0,
      handle: (turn, signal, lease) => {
        started = true;
        return runTurn(
          {
            database: t.database,
            logger: pino({ level: 'silent' }),
            assistant: stuck,
            sender: () => sender,
            typing,
            defaultLocale: 'es',
            historyTokens: 1000,
          },
          turn,
          signal,
          lease,
        );
      },
    });
    worker.start();
    const deadline = Date.now() + 10_000;
    while (!started && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(started).toBe(true);
    expect(sender.typings).toEqual([{ chatId: '777', replyTo: undefined }]); // typing shown at turn start
    await worker.stop();
    typing.stopAll();
    const { rows } = await t.database.query<{ status: string; attempts: number; lease_owner: string | null }>(
      'select status, attempts, lease_owner from inbox_messages where id = $1',
      [ids[0]],
    );
    expect(rows[0]).toEqual({ status: 'pending', attempts: 0, lease_owner: null });
    const conv = await t.database.query<{ lease_owner: string | null; fallback_notified_at: Date | null }>(
      `select lease_owner, fallback_notified_at from conversations where chat_id = '777'`,
    );
    expect(conv.rows[0]).toEqual({ lease_owner: null, fallback_notified_at: null });
    const out = await t.database.query('select id from outbox_messages');
    expect(out.rows).toHaveLength(0);
  });
});

describe('inbox worker claiming', () => {
  let t: TestDb;
  beforeAll(async () => {
    t = await testDatabase();
  });
  afterAll(async () => t?.drop());

  it('claims a burst once its debounce is over, woken by the claim that saw it waiting (no poll), and a backlog in batches', async () => {
    const writer = new InboxWriter(t.database);
    const turns: ClaimedTurn[] = [];
    const worker = new InboxWorker({
      database: t.database,
      logger: pino({ level: 'silent' }),
      concurrency: 2,
      maxTurns: 100,
      claimBatch: 8,
      leaseMs: 30_000,
      debounceMs: 300,
      // No poll within the test: only the signal and the due-time wake can start a turn.
      pollMs: 60_000,
      fallbackPollMs: 60_000,
      maxAttempts: 3,
      retryBaseMs: 10,
      graceMs: 200,
      gaugeMs: 0,
      handle: async (turn, _signal, lease) => {
        await t.database.transaction((tx) => lease.complete(tx, { answeredBy: new Map() }));
        turns.push(turn);
      },
    });
    worker.start();
    try {
      let n = 0;
      const ev = (chatId: string, text: string) => ({
        channel: 'telegram' as const,
        externalId: `update:w-${++n}`,
        chatId,
        userId: chatId,
        chatType: 'private' as const,
        kind: 'text' as const,
        text,
        sentAt: new Date(1_700_000_000_000 + n * 1000).toISOString(),
        answer: true,
      });
      await writer.accept([ev('burst', 'uno')]);
      worker.notified(); // claims nothing: the burst is not over
      await writer.accept([ev('burst', 'dos')]);
      worker.notified();
      // A backlog of 30 users at once, claimed with the burst in batches of at most 8.
      await writer.accept(Array.from({ length: 30 }, (_, i) => ev(`u${i}`, 'hola')));
      worker.notified();
      const deadline = Date.now() + 20_000;
      while (turns.length < 31 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(turns).toHaveLength(31);
      const burst = turns.find((x) => x.conversation.chat_id === 'burst');
      expect(burst?.messages.map((m) => m.event.text)).toEqual(['uno', 'dos']);
      // Claimed only after the debounce, by the database's own times.
      const { rows } = await t.database.query<{ waited_ms: number }>(
        `select extract(epoch from (min(claimed_at) - max(received_at))) * 1000 as waited_ms
         from inbox_messages where chat_id = 'burst'`,
      );
      expect(Number(rows[0].waited_ms)).toBeGreaterThanOrEqual(300);
      // Batches: one lease token prefix per claim statement, none larger than claimBatch.
      const perClaim = new Map<string, number>();
      for (const x of turns) {
        const prefix = x.token.slice(0, x.token.lastIndexOf('-'));
        perClaim.set(prefix, (perClaim.get(prefix) ?? 0) + 1);
      }
      expect(Math.max(...perClaim.values())).toBeLessThanOrEqual(8);
      expect(perClaim.size).toBeLessThan(31);
    } finally {
      await worker.stop();
    }
  });
});
