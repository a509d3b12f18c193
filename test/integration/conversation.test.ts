/**
 * The conversation engine end to end in one WADI on real PostgreSQL: inbound stored through the
 * InboxWriter, turns by the workers, replies sent by the dispatcher through an in-memory test
 * channel, the assistant being the sandbox's OpenAI-compatible fake over HTTP.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PermanentSendError, RetryableSendError } from '../../src/channels/errors.ts';
import type { InboundEvent } from '../../src/channels/types.ts';
import { texts } from '../../src/conversation/texts.ts';
import { listDeadLetters, replayDeadLetter } from '../../src/inbox/dead-letters.ts';
import { metrics } from '../../src/observability/metrics/metrics.ts';
import type { SandboxState } from '../../src/sandbox/state.ts';
import { type TestDb, testDatabase } from '../helpers/db.ts';
import { TestSender } from '../helpers/test-channel.ts';
import { startTestWadi, type TestWadi } from '../helpers/wadi.ts';

let t: TestDb;
let w: TestWadi;
const wa = new TestSender('whatsapp');
const tg = new TestSender('telegram');
let seq = 0;

function ev(chatId: string, text: string | undefined, over: Partial<InboundEvent> = {}): InboundEvent {
  seq++;
  return {
    channel: 'whatsapp',
    externalId: `wamid.conv.${seq}.${Math.random()}`,
    chatId,
    userId: chatId,
    chatType: 'private',
    kind: 'text',
    text,
    platformMessageId: `wamid.in.${seq}`,
    sentAt: new Date().toISOString(),
    answer: true,
    ...over,
  };
}

const accept = (...events: InboundEvent[]) => {
  const writer = w.wadi.wiring.writer;
  if (!writer) throw new Error('no inbox writer');
  return writer.accept(events);
};
const sandbox = () => w.wadi.wiring.sandboxState as SandboxState;
const q = async <T = Record<string, unknown>>(sql: string, params: unknown[] = []) =>
  (await t.database.query<T>(sql, params)).rows;

async function until<T>(what: string, fn: () => Promise<T | undefined | false> | T | undefined | false, ms = 20_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const chat = () => `34${Math.floor(Math.random() * 1e10)}`;

beforeAll(async () => {
  t = await testDatabase();
  w = await startTestWadi(t.database, {
    features: ['conversation', 'sandbox'],
    senders: [wa, tg],
    env: {
      WADI_SANDBOX: 'true',
      WADI_SANDBOX_LLM: 'true',
      COALESCE_DEBOUNCE_MS: '150',
      WORKER_POLL_MS: '50',
      WORKER_CONCURRENCY: '8',
      INBOX_MAX_ATTEMPTS: '2',
      INBOX_RETRY_BASE_MS: '50',
      OUTBOX_RETRY_BASE_MS: '20',
      OUTBOX_MAX_ATTEMPTS: '3',
      // Generous: a loaded CI machine must not turn a normal answer into a timeout.
      OPENAI_TIMEOUT_MS: '2000',
      OPENAI_MAX_RETRIES: '0',
      ASSISTANT_BREAKER_FAILURES: '2',
      ASSISTANT_BREAKER_OPEN_MS: '400',
      ASSISTANT_HISTORY_TOKENS: '200',
      LOG_LEVEL: 'warn',
    },
  });
});
afterAll(async () => {
  await w?.stop();
  await t?.drop();
});
beforeEach(() => {
  for (const f of sandbox().pendingFaults()) f.count = 0;
});

describe('conversation engine', () => {
  it('answers an inbound message: reply sent, recorded with its platform id, history kept', async () => {
    const c = chat();
    const [id] = (await accept(ev(c, 'hola, ¿qué tal?'))).ids;
    await until('the reply', () => wa.textsTo(c).length === 1);
    expect(wa.textsTo(c)).toEqual(['[sandbox] hola, ¿qué tal?']);
    expect(wa.typings.some((x) => x.chatId === c)).toBe(true);
    const [out] = await until('sent recorded', async () => {
      const r = await q<{ status: string; platform_message_id: string; inbox_id: number }>(
        'select status, platform_message_id, inbox_id from outbox_messages where chat_id = $1',
        [c],
      );
      return r[0]?.status === 'sent' && r;
    });
    expect(out.platform_message_id).toBe(wa.sends.find((s) => s.chatId === c)?.platformMessageId);
    expect(Number(out.inbox_id)).toBe(id);
    const [msg] = await q<Record<string, Date | string | null>>('select * from inbox_messages where id = $1', [id]);
    expect(msg.status).toBe('done');
    for (const k of ['claimed_at', 'llm_started_at', 'llm_ended_at', 'done_at']) expect(msg[k]).not.toBeNull();
    const hist = await q<{ role: string }>(
      'select role from history h join conversations c on c.id = h.conversation_id where c.chat_id = $1 order by h.id',
      [c],
    );
    expect(hist.map((h) => h.role)).toEqual(['user', 'assistant']);
    const tokens = (await metrics.llmTokens.get()).values;
    expect(tokens.find((v) => v.labels.kind === 'prompt')?.value).toBeGreaterThan(0);
    expect((await metrics.replyLatency.get()).values.some((v) => v.labels.channel === 'whatsapp')).toBe(true);
  });

  it('answers ten rapid messages from one user together, in the order received', async () => {
    const c = chat();
    const before = sandbox().calls('llm').length;
    const ids: number[] = [];
    for (let i = 1; i <= 10; i++) ids.push(...(await accept(ev(c, `parte ${i}`))).ids);
    await until('the reply', () => wa.textsTo(c).length > 0);
    await until(
      'all done',
      async () =>
        (
          await q<{ n: number }>(
            `select count(*)::int as n from inbox_messages where chat_id = $1 and status = 'done'`,
            [c],
          )
        )[0].n === 10,
    );
    const calls = sandbox()
      .calls('llm', 0)
      .slice(before)
      .map((x) => (x.body as { messages: { role: string; content: string }[] }).messages)
      .filter((m) => m.some((x) => x.content.startsWith('parte ')));
    // Coalesced: far fewer turns than messages; every message reached the LLM once, in order.
    expect(calls.length).toBeLessThan(10);
    const seen = calls.flatMap((m) => m.filter((x) => x.role === 'user').map((x) => x.content));
    const firstSeen = [...new Set(seen)];
    expect(firstSeen).toEqual(Array.from({ length: 10 }, (_, i) => `parte ${i + 1}`));
    const rows = await q<{ id: number; answered_by: number }>(
      'select id, answered_by from inbox_messages where chat_id = $1 order by id',
      [c],
    );
    expect(rows.every((r) => r.answered_by !== null && Number(r.answered_by) >= Number(r.id))).toBe(true);
    await until('every turn replied', () => wa.textsTo(c).length === calls.length);
  });

  it('answers 100 users at once, each exactly once', async () => {
    const chats = Array.from({ length: 100 }, () => chat());
    await Promise.all(chats.map((c) => accept(ev(c, `soy ${c}`))));
    await until('100 replies', () => chats.every((c) => wa.textsTo(c).length >= 1), 60_000);
    for (const c of chats) expect(wa.textsTo(c), c).toEqual([`[sandbox] soy ${c}`]);
  }, 90_000);

  it('handles /start, /help, /reset (forgetting the context) and non-text messages, localized', async () => {
    const c = chat();
    await accept(ev(c, 'recuerda el número 42'));
    await until('first reply', () => wa.textsTo(c).length === 1);
    await accept(ev(c, '/reset', { kind: 'command', command: { name: 'reset', args: '' } }));
    await until('reset reply', () => wa.textsTo(c).length === 2);
    expect(wa.textsTo(c)[1]).toMatch(/olvidado/);
    const before = sandbox().calls('llm').length;
    await accept(ev(c, '¿qué número era?'));
    await until('third reply', () => wa.textsTo(c).length === 3);
    const call = sandbox().calls('llm').slice(before)[0].body as { messages: { role: string; content: string }[] };
    expect(call.messages.map((m) => m.content).join(' ')).not.toContain('42');
    expect(call.messages.filter((m) => m.role !== 'system')).toEqual([{ role: 'user', content: '¿qué número era?' }]);

    const e = chat();
    await accept(ev(e, '/start', { channel: 'telegram', locale: 'en-GB', displayName: 'Ann' }));
    await until('welcome', () => tg.textsTo(e).length === 1);
    expect(tg.textsTo(e)[0]).toMatch(/^Hi, Ann!/);
    await accept(ev(e, undefined, { channel: 'telegram', kind: 'audio' }));
    await until('audio reply', () => tg.textsTo(e).length === 2);
    expect(tg.textsTo(e)[1]).toMatch(/only understand text.*voice or audio/);
    await accept(ev(e, '/help', { channel: 'telegram' }));
    await until('help', () => tg.textsTo(e).length === 3);
    expect(tg.textsTo(e)[2]).toMatch(/\/reset/);
    await accept(ev(c, undefined, { kind: 'location' }));
    await until('location reply', () => wa.textsTo(c).length === 4);
    expect(wa.textsTo(c)[3]).toMatch(/ubicaciones/);
  });

  it('stays silent for paused conversations and writes nothing to blocked ones', async () => {
    const p = chat();
    const b = chat();
    await accept(ev(p, 'hola'), ev(b, 'hola'));
    await until('both answered', () => wa.textsTo(p).length === 1 && wa.textsTo(b).length === 1);
    await q('update conversations set paused = true where chat_id = $1', [p]);
    await q('update conversations set blocked = true where chat_id = $1', [b]);
    const [paused] = (await accept(ev(p, '¿hay alguien?'))).ids;
    const [blocked] = (await accept(ev(b, '¿hola?'))).ids;
    const status = async (id: number) =>
      (await q<{ status: string }>('select status from inbox_messages where id = $1', [id]))[0].status;
    // While paused (a person has the conversation) the message waits as unanswered, not done.
    await until('handled', async () => (await status(paused)) === 'unanswered' && (await status(blocked)) === 'done');
    await new Promise((r) => setTimeout(r, 200));
    expect(wa.textsTo(p)).toHaveLength(1);
    expect(wa.textsTo(b)).toHaveLength(1);
  });

  it('records a reply that would leave outside the 24 h window as failed window_closed, unsent', async () => {
    const c = chat();
    const old = new Date(Date.now() - 25 * 3600 * 1000).toISOString();
    await accept(ev(c, 'mensaje viejo', { sentAt: old }));
    const [row] = await until('outcome', async () => {
      const r = await q<{ status: string; failure_reason: string }>(
        'select status, failure_reason from outbox_messages where chat_id = $1',
        [c],
      );
      return r[0]?.status === 'failed' && r;
    });
    expect(row.failure_reason).toBe('window_closed');
    expect(wa.textsTo(c)).toEqual([]);
  });

  it('retries retryable send errors, fails permanent ones with their reason, and follows a migrated chat', async () => {
    const c = chat();
    wa.failNext(
      () => new RetryableSendError('throttled', { code: '130429', retryAfterMs: 30 }),
      () => new RetryableSendError('503', { code: '503' }),
    );
    await accept(ev(c, 'reintenta'));
    await until('sent after retries', () => wa.textsTo(c).length === 1);
    const [r] = await until('recorded', async () => {
      const x = await q<{ status: string; attempts: number }>(
        'select status, attempts from outbox_messages where chat_id = $1',
        [c],
      );
      return x[0]?.status === 'sent' && x;
    });
    expect(r.attempts).toBe(3);

    const x = chat();
    wa.failNext(...Array.from({ length: 3 }, () => () => new RetryableSendError('down')));
    await accept(ev(x, 'nunca llega'));
    const [ex] = await until('exhausted', async () => {
      const rows = await q<{ status: string; failure_reason: string }>(
        'select status, failure_reason from outbox_messages where chat_id = $1',
        [x],
      );
      return rows[0]?.status === 'failed' && rows;
    });
    expect(ex.failure_reason).toBe('retries_exhausted');

    const b = chat();
    tg.failNext(
      () => new PermanentSendError('Forbidden: bot was blocked by the user', { code: '403', reason: 'blocked' }),
    );
    await accept(ev(b, 'hola', { channel: 'telegram' }));
    const [bl] = await until('blocked', async () => {
      const rows = await q<{ blocked: boolean; status: string; failure_reason: string; error_code: string }>(
        `select c.blocked, o.status, o.failure_reason, o.error_code from outbox_messages o
         join conversations c on c.id = o.conversation_id where c.chat_id = $1`,
        [b],
      );
      return rows[0]?.status === 'failed' && rows;
    });
    expect(bl).toMatchObject({ blocked: true, failure_reason: 'blocked', error_code: '403' });

    const g = `-${Math.floor(Math.random() * 1e9)}`;
    const moved = `-100${Math.floor(Math.random() * 1e9)}`;
    tg.failNext(
      () => new PermanentSendError('migrated', { code: '400', reason: 'bad_request', migrateToChatId: moved }),
    );
    await accept(ev(g, 'hola grupo', { channel: 'telegram', chatType: 'group' }));
    await until('resent to the new chat', () => tg.textsTo(moved).length === 1);
    const conv = await q<{ chat_id: string }>('select chat_id from conversations where chat_id = $1', [moved]);
    expect(conv).toHaveLength(1);
  });

  it('when the LLM times out: one notice, the messages stay pending, answered after recovery', async () => {
    const c = chat();
    sandbox().addFault({ channel: 'llm', kind: 'chat_completion', delay_ms: 4000, count: 3 });
    await accept(ev(c, 'primera pregunta'));
    await until('notice', () => wa.textsTo(c).length === 1);
    expect(wa.textsTo(c)[0]).toMatch(/problemas técnicos/);
    await accept(ev(c, 'segunda pregunta'));
    await until('answered after recovery', () => wa.textsTo(c).length >= 2, 30_000);
    const texts = wa.textsTo(c);
    // Exactly one notice for the outage, then the answer to both questions together.
    expect(texts.filter((x) => /problemas técnicos/.test(x))).toHaveLength(1);
    expect(texts.at(-1)).toBe('[sandbox] segunda pregunta');
    const rows = await q<{ status: string; attempts: number }>(
      'select status, attempts from inbox_messages where chat_id = $1',
      [c],
    );
    expect(rows.every((r) => r.status === 'done')).toBe(true);
    const [conv] = await q<{ fallback_notified_at: Date | null }>(
      'select fallback_notified_at from conversations where chat_id = $1',
      [c],
    );
    expect(conv.fallback_notified_at).toBeNull();
  }, 60_000);

  it('dead-letters a message the LLM keeps rejecting, lists it, and answers it when replayed', async () => {
    const c = chat();
    sandbox().addFault({ channel: 'llm', kind: 'chat_completion', status: 400, count: 2 });
    const [id] = (await accept(ev(c, 'mensaje envenenado'))).ids;
    await until(
      'dead',
      async () =>
        (await q<{ status: string }>('select status from inbox_messages where id = $1', [id]))[0].status === 'dead',
    );
    const page = await listDeadLetters(t.database, { limit: 10 });
    const d = page.items.find((x) => x.id === id);
    expect(d).toMatchObject({ attempts: 2, text: 'mensaje envenenado' });
    expect(d?.lastError).toMatch(/AssistantRejectedError/);
    // The user is told once that the message could not be answered (never silence).
    await until('told', () => wa.textsTo(c).length === 1);
    expect(wa.textsTo(c)).toEqual([texts('es').deadLetter]);
    await replayDeadLetter(t.database, id);
    await until('answered after replay', () => wa.textsTo(c).length === 2);
    expect(wa.textsTo(c)).toEqual([texts('es').deadLetter, '[sandbox] mensaje envenenado']);
    await expect(replayDeadLetter(t.database, id)).rejects.toMatchObject({ code: 'NOT_DEAD' });
    await expect(replayDeadLetter(t.database, 99_999_999)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});
