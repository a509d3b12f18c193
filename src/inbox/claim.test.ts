/**
 * Direct tests of claiming: burst coalescing, lease expiry and fencing, retry times, batches. The
 * clock is moved by hand (kernel/clock.ts), so nothing here sleeps.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../test/helpers/clock.ts';
import { type TestDb, testDatabase } from '../../test/helpers/db.ts';
import type { InboundEvent } from '../channels/types.ts';
import type { Clock } from '../kernel/clock.ts';
import {
  type ClaimedTurn,
  claimTurn,
  claimTurns,
  completeTurn,
  LeaseLostError,
  leaseFor,
  releaseTurn,
} from './claim.ts';
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

  const complete = (turn: ClaimedTurn) =>
    t.database.transaction((tx) => completeTurn(tx, turn, { answeredBy: new Map() }));

  it('a batch claims up to its limit of ready conversations, oldest first, each under its own lease, and says when the next burst is due', async () => {
    const clock = new ManualClock(Date.now() + 18_000_000);
    await drain(clock);
    const chats = Array.from({ length: 5 }, (_, i) => `b${i}-${Math.random()}`);
    // Oldest first: chat 0 has two messages (a burst), the others one each.
    await writer.accept([event(chats[0], 'uno'), event(chats[0], 'dos')]);
    for (const c of chats.slice(1, 4)) await writer.accept([event(c, `hola ${c}`)]);
    await writer.accept([event(chats[4], 'tarde')]);
    clock.t = Date.now() + 6000;
    // A burst that is not over: its newest message is 1 s old at the claim, the debounce is 5 s.
    await t.database.query(`update inbox_messages set received_at = $2 where chat_id = $1`, [
      chats[4],
      new Date(clock.t - 1000),
    ]);
    const opts = { leaseMs: 30_000, debounceMs: 5000, clock };
    const first = await claimTurns(t.database, { ...opts, tokenPrefix: 'batch-a', limit: 3 });
    expect(first.turns.map((x) => x.conversation.chat_id)).toEqual(chats.slice(0, 3));
    expect(first.turns[0].messages.map((m) => m.event.text)).toEqual(['uno', 'dos']);
    expect(new Set(first.turns.map((x) => x.token)).size).toBe(3);
    for (const x of first.turns) expect(x.token).toBe(`batch-a-${x.conversation.id}`);
    const { rows } = await t.database.query<{ lease_owner: string; n: number }>(
      `select lease_owner, count(*)::int as n from inbox_messages
       where conversation_id = any($1::bigint[]) group by lease_owner order by lease_owner`,
      [first.turns.map((x) => x.conversation.id)],
    );
    expect(rows).toEqual(
      first.turns
        .map((x) => ({ lease_owner: x.token, n: x.messages.length }))
        .sort((a, b) => (a.lease_owner < b.lease_owner ? -1 : 1)),
    );
    // The one left is ready; the late burst is due in about 4 s (by the decision clock).
    const second = await claimTurns(t.database, { ...opts, tokenPrefix: 'batch-b', limit: 10 });
    expect(second.turns.map((x) => x.conversation.chat_id)).toEqual([chats[3]]);
    expect(second.nextDueInMs).toBeGreaterThan(3000);
    expect(second.nextDueInMs).toBeLessThanOrEqual(4000);
    const none = await claimTurns(t.database, { ...opts, tokenPrefix: 'batch-c', limit: 10 });
    expect(none.turns).toEqual([]);
    clock.t += 4000;
    const last = await claimTurns(t.database, { ...opts, tokenPrefix: 'batch-d', limit: 10 });
    expect(last.turns.map((x) => x.conversation.chat_id)).toEqual([chats[4]]);
    expect(last.nextDueInMs).toBeNull();
    for (const x of [...first.turns, ...second.turns, ...last.turns]) await complete(x);
  });

  it('a conversation in a running turn is never in a batch: its new message waits for the turn to end, then comes alone', async () => {
    const clock = new ManualClock(Date.now() + 21_600_000);
    await drain(clock);
    const chat = `o-${Math.random()}`;
    await writer.accept([event(chat, 'primero')]);
    const opts = { leaseMs: 30_000, debounceMs: 0, clock };
    const running = await claimTurns(t.database, { ...opts, tokenPrefix: 'run', limit: 10 });
    expect(running.turns).toHaveLength(1);
    // Many leased conversations with new messages do not hide a free one behind them.
    const busy: ClaimedTurn[] = [];
    for (let i = 0; i < 40; i++) await writer.accept([event(`busy-${i}-${chat}`, 'x')]);
    busy.push(...(await claimTurns(t.database, { ...opts, tokenPrefix: 'busy', limit: 40 })).turns);
    expect(busy).toHaveLength(40);
    for (let i = 0; i < 40; i++) await writer.accept([event(`busy-${i}-${chat}`, 'y')]);
    await writer.accept([event(chat, 'segundo')]);
    const free = `f-${Math.random()}`;
    await writer.accept([event(free, 'libre')]);
    const meanwhile = await claimTurns(t.database, { ...opts, tokenPrefix: 'meanwhile', limit: 10 });
    expect(meanwhile.turns.map((x) => x.conversation.chat_id)).toEqual([free]);
    // Leased conversations are not "due": their holder looks when its turn ends.
    expect(meanwhile.nextDueInMs).toBeNull();
    await complete(running.turns[0]);
    const after = await claimTurns(t.database, { ...opts, tokenPrefix: 'after', limit: 1 });
    expect(after.turns.map((x) => x.messages.map((m) => m.event.text))).toEqual([['segundo']]);
    for (const x of [...busy, ...meanwhile.turns, ...after.turns]) await complete(x);
  });

  it('concurrent batch claims from many connections never hand out the same conversation; every one is claimed once', async () => {
    const clock = new ManualClock(Date.now() + 25_200_000);
    await drain(clock);
    const chats = Array.from({ length: 120 }, (_, i) => `k${i}-${Math.random()}`);
    await writer.accept(chats.map((c) => event(c, 'hola')));
    const claimed: ClaimedTurn[] = [];
    // Six "workers" (the pool gives each its own connection) claim batches of 7 until nothing is left.
    await Promise.all(
      Array.from({ length: 6 }, async (_, w) => {
        for (let n = 0; ; n++) {
          const b = await claimTurns(t.database, {
            tokenPrefix: `w${w}-${n}`,
            limit: 7,
            leaseMs: 30_000,
            debounceMs: 0,
            clock,
          });
          if (b.turns.length === 0) return;
          claimed.push(...b.turns);
        }
      }),
    );
    const ids = claimed.map((x) => x.conversation.chat_id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(new Set(ids)).toEqual(new Set(chats));
    expect(claimed.every((x) => x.messages.length === 1 && x.messages[0].attempts === 1)).toBe(true);
    for (const x of claimed) await complete(x);
  });

  it('a batch re-claims the conversations of a crashed worker once their leases expire; the crashed worker is fenced off', async () => {
    const clock = new ManualClock(Date.now() + 28_800_000);
    await drain(clock);
    const chats = [`x1-${Math.random()}`, `x2-${Math.random()}`];
    for (const c of chats) await writer.accept([event(c, 'hola')]);
    const opts = { leaseMs: 30_000, debounceMs: 0, clock };
    const crashed = await claimTurns(t.database, { ...opts, tokenPrefix: 'crashed', limit: 10 });
    expect(crashed.turns).toHaveLength(2);
    clock.t += 29_000;
    expect((await claimTurns(t.database, { ...opts, tokenPrefix: 'early', limit: 10 })).turns).toEqual([]);
    clock.t += 2000;
    const again = await claimTurns(t.database, { ...opts, tokenPrefix: 'again', limit: 10 });
    expect(again.turns.map((x) => x.conversation.chat_id)).toEqual(chats);
    expect(again.turns.every((x) => x.messages[0].attempts === 2)).toBe(true);
    for (const x of crashed.turns) await expect(complete(x)).rejects.toBeInstanceOf(LeaseLostError);
    for (const x of again.turns) await complete(x);
    const { rows } = await t.database.query<{ status: string }>(
      `select distinct status from inbox_messages where id = any($1::bigint[])`,
      [again.turns.map((x) => x.messages[0].id)],
    );
    expect(rows).toEqual([{ status: 'done' }]);
  });
});
