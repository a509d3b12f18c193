/**
 * Turn scheduling on real PostgreSQL with an OpenAI-compatible fake that counts requests in flight
 * at the fake: turns waiting on the LLM are not bounded by WORKER_CONCURRENCY, they are bounded by
 * LLM_MAX_CONCURRENCY; ingest keeps committing while every turn waits on the LLM; a provider 429
 * with retry-after backs off every turn of the process, and of another replica through Redis.
 * Every conversation still gets exactly one reply.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { InboundEvent } from '../../src/channels/types.ts';
import { postgresUrl, type TestDb, testDatabase } from '../helpers/db.ts';
import { GatedLlm } from '../helpers/gated-llm.ts';
import { TestSender } from '../helpers/test-channel.ts';
import { startTestWadi, type TestWadi } from '../helpers/wadi.ts';

const redisUrl = process.env.TEST_REDIS_URL;
if (!redisUrl && process.env.WADI_TEST_REQUIRE_SERVICES === '1') {
  throw new Error('WADI_TEST_REQUIRE_SERVICES=1 but TEST_REDIS_URL is not set');
}

let seq = 0;
function ev(chatId: string, text: string): InboundEvent {
  seq++;
  return {
    channel: 'whatsapp',
    externalId: `wamid.sched.${seq}.${Math.random()}`,
    chatId,
    userId: chatId,
    chatType: 'private',
    kind: 'text',
    text,
    platformMessageId: `wamid.sched.in.${seq}`,
    sentAt: new Date().toISOString(),
    answer: true,
  };
}

async function until<T>(what: string, fn: () => T | undefined | false | Promise<T | undefined | false>, ms = 60_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(env: Record<string, string>, llm: GatedLlm, base?: string) {
  const t: TestDb = await testDatabase('postgres');
  base ??= await llm.start();
  const wa = new TestSender('whatsapp');
  const w: TestWadi = await startTestWadi(t.database, {
    features: ['conversation'],
    senders: [wa],
    env: {
      OPENAI_API_KEY: 'sk-test-gated',
      OPENAI_BASE_URL: base,
      OPENAI_TIMEOUT_MS: '30000',
      COALESCE_DEBOUNCE_MS: '0',
      WORKER_POLL_MS: '100',
      WORKER_CONCURRENCY: '4',
      LOG_LEVEL: 'warn',
      ...env,
    },
  });
  cleanups.push(async () => {
    await w.stop();
    await llm.close();
    await t.drop();
  });
  const accept = async (...events: InboundEvent[]) => {
    const writer = w.wadi.wiring.writer;
    if (!writer) throw new Error('no inbox writer');
    return writer.accept(events);
  };
  return { t, w, wa, accept, base };
}

const chats = (n: number, tag: string) => Array.from({ length: n }, (_, i) => `34${tag}${String(i).padStart(4, '0')}`);

async function expectOneReplyEach(wa: TestSender, t: TestDb, ids: string[]) {
  await until('a reply to every conversation', () => ids.every((c) => wa.textsTo(c).length >= 1));
  for (const c of ids) expect(wa.textsTo(c)).toEqual([`[fake] hola ${c}`]);
  const { rows } = await t.database.query<{ chat_id: string; n: number }>(
    `select chat_id, count(*)::int as n from outbox_messages where chat_id = any($1) group by chat_id`,
    [ids],
  );
  expect(rows.length).toBe(ids.length);
  expect(rows.every((r) => r.n === 1)).toBe(true);
}

describe.runIf(postgresUrl())('turn scheduling (PostgreSQL)', { timeout: 120_000 }, () => {
  it('runs 50 turns at once on WORKER_CONCURRENCY=4, and ingest commits while they all wait on the LLM', async () => {
    const llm = new GatedLlm();
    llm.holdUntil = 50;
    const { t, wa, accept } = await setup({ LLM_MAX_CONCURRENCY: '64', DATABASE_POOL_SIZE: '4' }, llm);
    const first = chats(50, '1');
    llm.releaseAfter(45_000);
    await accept(...first.map((c) => ev(c, `hola ${c}`)));
    // The fake releases the requests only once 50 are in flight at once.
    await until('50 LLM requests in flight at once', () => llm.peak >= 50 || llm.holdUntil === 0);
    expect(llm.peak).toBe(50);
    await expectOneReplyEach(wa, t, first);

    // While 50 more turns hold at the fake, new inbound messages are still committed.
    llm.holdUntil = 1000;
    llm.releaseAfter(45_000);
    const second = chats(50, '2');
    await accept(...second.map((c) => ev(c, `hola ${c}`)));
    await until('50 more in flight', () => llm.inFlight >= 50);
    const late = chats(10, '3');
    const stored = await accept(...late.map((c) => ev(c, `hola ${c}`)));
    expect(stored.ids.length).toBe(10);
    const { rows } = await t.database.query<{ n: number }>(
      `select count(*)::int as n from inbox_messages where (event->>'chatId') = any($1)`,
      [late],
    );
    expect(rows[0].n).toBe(10);
    expect(llm.inFlight).toBeGreaterThanOrEqual(50);
    llm.release();
    await expectOneReplyEach(wa, t, [...second, ...late]);
  });

  it('never has more than LLM_MAX_CONCURRENCY requests in flight', async () => {
    const llm = new GatedLlm();
    llm.delayMs = 150;
    const { t, wa, accept } = await setup({ LLM_MAX_CONCURRENCY: '5', WORKER_CONCURRENCY: '8' }, llm);
    const ids = chats(30, '4');
    await accept(...ids.map((c) => ev(c, `hola ${c}`)));
    await expectOneReplyEach(wa, t, ids);
    expect(llm.peak).toBe(5);
  });

  it('a 429 with retry-after backs off every turn of the process until the time it named', async () => {
    const llm = new GatedLlm();
    llm.failNext.push({ status: 429, retryAfterSeconds: 2 });
    const { t, wa, accept } = await setup({ LLM_MAX_CONCURRENCY: '32', OPENAI_MAX_RETRIES: '3' }, llm);
    const [c0] = chats(1, '5');
    await accept(ev(c0, `hola ${c0}`));
    const throttled = await until('the 429', () => llm.arrivals.find((a) => a.status === 429));
    const others = chats(12, '6');
    await accept(...others.map((c) => ev(c, `hola ${c}`)));
    await expectOneReplyEach(wa, t, [c0, ...others]);
    const after = llm.arrivals.filter((a) => a.at > throttled.at);
    expect(after.length).toBe(13);
    // Nobody, the throttled turn's SDK retry included, called the provider within the 2 s it asked for.
    for (const a of after) expect(a.at - throttled.at).toBeGreaterThanOrEqual(1950);
  });

  it.runIf(redisUrl)('a 429 seen by one replica backs off the other through Redis', async () => {
    const llm = new GatedLlm();
    llm.failNext.push({ status: 429, retryAfterSeconds: 3 });
    const redis = { REDIS_URL: redisUrl as string, LLM_MAX_CONCURRENCY: '16', OPENAI_MAX_RETRIES: '3' };
    const a = await setup(redis, llm);
    // Replica B: its own process-level gate and database, the same provider and Redis.
    const b = await setup(redis, llm, a.base);
    const [c0] = chats(1, '7');
    await a.accept(ev(c0, `hola ${c0}`));
    const throttled = await until('the 429', () => llm.arrivals.find((x) => x.status === 429));
    const others = chats(6, '8');
    await b.accept(...others.map((c) => ev(c, `hola ${c}`)));
    await expectOneReplyEach(b.wa, b.t, others);
    await expectOneReplyEach(a.wa, a.t, [c0]);
    const fromB = llm.arrivals.filter((x) => others.some((c) => x.lastUser === `hola ${c}`));
    expect(fromB.length).toBe(6);
    for (const x of fromB) expect(x.at - throttled.at).toBeGreaterThanOrEqual(2950);
  });
});
