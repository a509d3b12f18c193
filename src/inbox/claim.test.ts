/**
 * Direct tests of claiming: burst coalescing, lease expiry and fencing, retry times. The clock is
 * moved by hand (kernel/clock.ts), so nothing here sleeps.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../test/helpers/clock.ts';
import { type TestDb, testDatabase } from '../../test/helpers/db.ts';
import type { InboundEvent } from '../channels/types.ts';
import type { Clock } from '../kernel/clock.ts';
import { claimTurn, completeTurn, LeaseLostError, leaseFor, releaseTurn } from './claim.ts';
import { InboxWriter } from './writer.ts';

let seq = 0;
const event = (chatId: string, text: string): InboundEvent => ({
  channel: 'telegram',
  externalId: `update:claim-${++seq}-${Math.random()}`,
  chatId,
  userId: chatId,
  chatType: 'private',
  kind: 'text',
  text,
  sentAt: new Date(1_700_000_000_000 + seq * 1000).toISOString(),
  answer: true,
});

describe('claimTurn', () => {
  let t: TestDb;
  let writer: InboxWriter;
  beforeAll(async () => {
    t = await testDatabase();
    writer = new InboxWriter(t.database);
  });
  afterAll(async () => t?.drop());

  // Each test gets its own conversations, and claims only ones whose messages are due by then;
  // claims made while earlier tests' rows still wait pick those first, so each test drains first.
  async function drain(clock: Clock): Promise<void> {
    for (;;) {
      const turn = await claimTurn(t.database, {
        token: `drain-${Math.random()}`,
        leaseMs: 1000,
        debounceMs: 0,
        clock,
      });
      if (!turn) return;
      await t.database.transaction((tx) => completeTurn(tx, turn, { answeredBy: new Map() }));
    }
  }

  it('claims a burst as one turn only once its newest message is debounceMs old, in the user order', async () => {
    const clock = new ManualClock(Date.now() + 3_600_000);
    await drain(clock);
    const chat = `c-${Math.random()}`;
    await writer.accept([event(chat, 'uno'), event(chat, 'dos')]);
    const now = Date.now();
    clock.t = now + 1000;
    expect(await claimTurn(t.database, { token: 'a', leaseMs: 30_000, debounceMs: 5000, clock })).toBeNull();
    clock.t = now + 6000;
    const turn = await claimTurn(t.database, { token: 'a', leaseMs: 30_000, debounceMs: 5000, clock });
    expect(turn?.conversation.chat_id).toBe(chat);
    expect(turn?.messages.map((m) => m.event.text)).toEqual(['uno', 'dos']);
    expect(turn?.messages.every((m) => m.attempts === 1)).toBe(true);
    if (turn) await t.database.transaction((tx) => completeTurn(tx, turn, { answeredBy: new Map() }));
  });

  it('never hands a leased conversation to a second worker until the lease expires; the old holder is fenced off', async () => {
    const clock = new ManualClock(Date.now() + 7_200_000);
    await drain(clock);
    const chat = `c-${Math.random()}`;
    await writer.accept([event(chat, 'hola')]);
    const first = await claimTurn(t.database, { token: 'w1', leaseMs: 30_000, debounceMs: 0, clock });
    expect(first?.conversation.chat_id).toBe(chat);
    clock.t += 29_000;
    expect(await claimTurn(t.database, { token: 'w2', leaseMs: 30_000, debounceMs: 0, clock })).toBeNull();
    clock.t += 2000; // the lease of w1 expired (a crashed worker)
    const second = await claimTurn(t.database, { token: 'w2', leaseMs: 30_000, debounceMs: 0, clock });
    expect(second?.conversation.id).toBe(first?.conversation.id);
    expect(second?.messages[0].attempts).toBe(2);
    // The first worker wakes up and tries to commit: refused, nothing changes.
    await expect(
      t.database.transaction((tx) => completeTurn(tx, first as NonNullable<typeof first>, { answeredBy: new Map() })),
    ).rejects.toBeInstanceOf(LeaseLostError);
    const { rows } = await t.database.query<{ status: string; lease_owner: string }>(
      'select status, lease_owner from inbox_messages where id = $1',
      [second?.messages[0].id],
    );
    expect(rows[0]).toEqual({ status: 'processing', lease_owner: 'w2' });
    if (second) await t.database.transaction((tx) => completeTurn(tx, second, { answeredBy: new Map() }));
  });

  it('a released turn is claimable again only at its retry time; counted failures dead-letter at the last attempt', async () => {
    const clock = new ManualClock(Date.now() + 10_800_000);
    await drain(clock);
    const chat = `c-${Math.random()}`;
    await writer.accept([event(chat, 'falla')]);
    const policy = { maxAttempts: 2, retryDelay: (attempt: number) => attempt * 60_000, clock };
    const turn = await claimTurn(t.database, { token: 'r1', leaseMs: 30_000, debounceMs: 0, clock });
    expect(turn).not.toBeNull();
    const dead = await t.database.transaction((tx) =>
      leaseFor(turn as NonNullable<typeof turn>, policy).fail(tx, 'boom'),
    );
    expect(dead).toBe(0);
    clock.t += 59_000;
    expect(await claimTurn(t.database, { token: 'r2', leaseMs: 30_000, debounceMs: 0, clock })).toBeNull();
    clock.t += 2000;
    const again = await claimTurn(t.database, { token: 'r2', leaseMs: 30_000, debounceMs: 0, clock });
    expect(again?.messages[0].attempts).toBe(2);
    const dead2 = await t.database.transaction((tx) =>
      leaseFor(again as NonNullable<typeof again>, policy).fail(tx, 'boom again'),
    );
    expect(dead2).toBe(1);
    const { rows } = await t.database.query<{ status: string; last_error: string }>(
      'select status, last_error from inbox_messages where id = $1',
      [again?.messages[0].id],
    );
    expect(rows[0]).toEqual({ status: 'dead', last_error: 'boom again' });
    clock.t += 3_600_000;
    expect(await claimTurn(t.database, { token: 'r3', leaseMs: 30_000, debounceMs: 0, clock })).toBeNull();
  });

  it('a postponed turn (LLM down) keeps its attempt and waits the longer of the first step and retry-after', async () => {
    const clock = new ManualClock(Date.now() + 14_400_000);
    await drain(clock);
    const chat = `c-${Math.random()}`;
    await writer.accept([event(chat, 'espera')]);
    const policy = { maxAttempts: 1, retryDelay: () => 1000, clock };
    const turn = await claimTurn(t.database, { token: 'p1', leaseMs: 30_000, debounceMs: 0, clock });
    await t.database.transaction((tx) =>
      leaseFor(turn as NonNullable<typeof turn>, policy).postpone(tx, 'down', 20_000),
    );
    clock.t += 19_000;
    expect(await claimTurn(t.database, { token: 'p2', leaseMs: 30_000, debounceMs: 0, clock })).toBeNull();
    clock.t += 2000;
    const again = await claimTurn(t.database, { token: 'p2', leaseMs: 30_000, debounceMs: 0, clock });
    // maxAttempts is 1, yet the message is not dead: postponing never counts.
    expect(again?.messages[0].attempts).toBe(1);
    await t.database.transaction((tx) =>
      releaseTurn(tx, again as NonNullable<typeof again>, { retryInMs: 0, countAttempt: false, maxAttempts: 1, clock }),
    );
  });
});
