/**
 * Direct tests of one turn: what it queues, what it records, how it hands a turn back. A real
 * database, the worker's own lease (inbox/claim.ts), a scripted assistant, a hand-moved clock.
 */
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../test/helpers/clock.ts';
import { type TestDb, testDatabase } from '../../test/helpers/db.ts';
import { TestSender } from '../../test/helpers/test-channel.ts';
import { type Assistant, type AssistantRequest, AssistantUnavailableError } from '../assistant/assistant.ts';
import type { InboundEvent } from '../channels/types.ts';
import { type ClaimedTurn, claimTurn, completeTurn, leaseFor } from '../inbox/claim.ts';
import { InboxWriter } from '../inbox/writer.ts';
import { loadHistory } from './history.ts';
import { texts } from './texts.ts';
import { runTurn, type TurnDeps } from './turn.ts';
import { TypingKeeper } from './typing.ts';

/** An assistant that answers from a script: a string is the reply, an Error is thrown. */
class ScriptedAssistant implements Assistant {
  readonly name = 'scripted';
  readonly requests: AssistantRequest[] = [];
  readonly script: (string | Error)[] = [];
  async reply(req: AssistantRequest) {
    this.requests.push(req);
    const next = this.script.shift() ?? 'ok';
    if (next instanceof Error) throw next;
    return { text: next };
  }
}

let seq = 0;
const event = (chatId: string, text: string, over: Partial<InboundEvent> = {}): InboundEvent => ({
  channel: 'telegram',
  externalId: `update:turn-${++seq}-${Math.random()}`,
  chatId,
  userId: chatId,
  chatType: 'private',
  kind: 'text',
  text,
  sentAt: new Date(1_700_000_000_000 + seq * 1000).toISOString(),
  answer: true,
  locale: 'es',
  ...over,
});

describe('runTurn', () => {
  let t: TestDb;
  let writer: InboxWriter;
  const clock = new ManualClock(Date.now() + 86_400_000);
  beforeAll(async () => {
    t = await testDatabase();
    writer = new InboxWriter(t.database);
  });
  afterAll(async () => t?.drop());

  const policy = { maxAttempts: 2, retryDelay: (a: number) => a * 1000, clock };
  const deps = (assistant: Assistant): TurnDeps => ({
    database: t.database,
    logger: pino({ level: 'silent' }),
    assistant,
    sender: () => new TestSender('telegram'),
    typing: new TypingKeeper(),
    defaultLocale: 'es',
    historyTokens: 2000,
  });

  /** Stores the messages of a fresh chat and claims them as one turn (nothing else is due then). */
  async function claim(events: InboundEvent[]): Promise<ClaimedTurn> {
    await writer.accept(events);
    clock.advance(1000);
    const turn = await claimTurn(t.database, { token: `t-${Math.random()}`, leaseMs: 30_000, debounceMs: 0, clock });
    if (!turn) throw new Error('nothing claimed');
    expect(turn.conversation.chat_id).toBe(events[0].chatId);
    return turn;
  }
  const run = (d: TurnDeps, turn: ClaimedTurn) =>
    runTurn(d, turn, new AbortController().signal, leaseFor(turn, policy));
  const outbox = async (conversationId: number) =>
    (
      await t.database.query<{ body: string; kind: string }>(
        'select body, kind from outbox_messages where conversation_id = $1 order by id',
        [conversationId],
      )
    ).rows;
  const inbox = async (conversationId: number) =>
    (
      await t.database.query<{ status: string; attempts: number }>(
        'select status, attempts from inbox_messages where conversation_id = $1 order by id',
        [conversationId],
      )
    ).rows;

  it('answers a burst of text with one reply, marks the messages done and keeps both sides in the history', async () => {
    const a = new ScriptedAssistant();
    a.script.push('¡Hola, Ana!');
    const chat = `c-${Math.random()}`;
    const turn = await claim([event(chat, 'hola'), event(chat, 'soy Ana')]);
    await run(deps(a), turn);
    expect(a.requests[0].messages.map((m) => m.content)).toEqual(['hola', 'soy Ana']);
    expect(await outbox(turn.conversation.id)).toEqual([{ body: '¡Hola, Ana!', kind: 'text' }]);
    expect((await inbox(turn.conversation.id)).map((m) => m.status)).toEqual(['done', 'done']);
    expect((await loadHistory(t.database, turn.conversation.id, 2000)).map((h) => h.content)).toEqual([
      'hola',
      'soy Ana',
      '¡Hola, Ana!',
    ]);
  });

  it('/reset forgets what came before it and answers with the reset text', async () => {
    const a = new ScriptedAssistant();
    const chat = `c-${Math.random()}`;
    await run(deps(a), await claim([event(chat, 'recuerda el 42')]));
    const turn = await claim([event(chat, '/reset', { kind: 'command', command: { name: 'reset', args: '' } })]);
    await run(deps(a), turn);
    expect((await outbox(turn.conversation.id)).at(-1)).toEqual({ body: texts('es').reset, kind: 'text' });
    expect(await loadHistory(t.database, turn.conversation.id, 2000)).toEqual([]);
  });

  it('LLM down: the messages wait without losing an attempt, and the user gets one notice per outage', async () => {
    const a = new ScriptedAssistant();
    a.script.push(new AssistantUnavailableError('timeout'), new AssistantUnavailableError('timeout'), 'ya estoy');
    const chat = `c-${Math.random()}`;
    const first = await claim([event(chat, '¿estás?')]);
    await run(deps(a), first);
    expect(await inbox(first.conversation.id)).toEqual([{ status: 'pending', attempts: 0 }]);
    clock.advance(5000);
    const second = await claimTurn(t.database, { token: 'again', leaseMs: 30_000, debounceMs: 0, clock });
    expect(second?.conversation.id).toBe(first.conversation.id);
    await run(deps(a), second as ClaimedTurn);
    const notices = (await outbox(first.conversation.id)).filter((o) => o.kind === 'notice');
    expect(notices).toEqual([{ body: texts('es').unavailable, kind: 'notice' }]);
    // Back up: the real answer goes out and the next outage may notify again.
    clock.advance(5000);
    const third = await claimTurn(t.database, { token: 'back', leaseMs: 30_000, debounceMs: 0, clock });
    await run(deps(a), third as ClaimedTurn);
    expect((await outbox(first.conversation.id)).at(-1)).toEqual({ body: 'ya estoy', kind: 'text' });
    const c = await t.database.query<{ fallback_notified_at: Date | null }>(
      'select fallback_notified_at from conversations where id = $1',
      [first.conversation.id],
    );
    expect(c.rows[0].fallback_notified_at).toBeNull();
  });

  it('other failures count: retried with backoff, then dead, and nothing is queued', async () => {
    const a = new ScriptedAssistant();
    a.script.push(new Error('bad response'), new Error('bad response'));
    const chat = `c-${Math.random()}`;
    const first = await claim([event(chat, 'rompe')]);
    await run(deps(a), first);
    expect(await inbox(first.conversation.id)).toEqual([{ status: 'pending', attempts: 1 }]);
    clock.advance(1500);
    const second = await claimTurn(t.database, { token: 'retry', leaseMs: 30_000, debounceMs: 0, clock });
    await run(deps(a), second as ClaimedTurn);
    expect(await inbox(first.conversation.id)).toEqual([{ status: 'dead', attempts: 2 }]);
    expect(await outbox(first.conversation.id)).toEqual([]);
  });

  it('a turn whose lease was taken over commits nothing', async () => {
    const a = new ScriptedAssistant();
    a.script.push('tarde');
    const chat = `c-${Math.random()}`;
    const stale = await claim([event(chat, 'hola')]);
    clock.advance(31_000);
    const fresh = await claimTurn(t.database, { token: 'fresh', leaseMs: 30_000, debounceMs: 0, clock });
    expect(fresh?.conversation.id).toBe(stale.conversation.id);
    await run(deps(a), stale);
    expect(await outbox(stale.conversation.id)).toEqual([]);
    expect(await inbox(stale.conversation.id)).toEqual([{ status: 'processing', attempts: 2 }]);
    await t.database.transaction((tx) => completeTurn(tx, fresh as ClaimedTurn, { answeredBy: new Map() }));
  });
});
