import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestDb, testDatabase } from '../../test/helpers/db.ts';
import { TestSender } from '../../test/helpers/test-channel.ts';
import { type Assistant, AssistantUnavailableError } from '../assistant/assistant.ts';
import { runTurn } from '../conversation/turn.ts';
import { TypingKeeper } from '../conversation/typing.ts';
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
