/**
 * End-to-end throughput and added latency of the conversation engine on real PostgreSQL:
 * inbound stored by the InboxWriter (as the webhook does) → worker turn (offline assistant,
 * answering instantly) → outbox → dispatcher → a sender that accepts instantly, like the fake
 * Graph API would. Measures:
 *   1. burst: N messages from many users stored at once; messages/s until every reply is sent;
 *   2. sustained: a fixed arrival rate for a while; p50/p95/p99 of WADI's added latency
 *      (stored → reply accepted by the platform) and whether the backlog stays flat;
 *   CPU per message of this process (PostgreSQL's own CPU is reported separately from pg_stat).
 *
 * Run: BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test npx tsx bench/e2e-throughput.ts [--quick]
 * Writes bench/results/e2e-throughput.json and prints a summary.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { OfflineAssistant } from '../src/assistant/offline.ts';
import { splitText } from '../src/channels/split.ts';
import type { ChannelSender, InboundEvent, OutboundMessage } from '../src/channels/types.ts';
import { runTurn } from '../src/conversation/turn.ts';
import { TypingKeeper } from '../src/conversation/typing.ts';
import { openDatabase } from '../src/db/client.ts';
import { migrate } from '../src/db/migrate.ts';
import { InboxWorker } from '../src/inbox/worker.ts';
import { InboxWriter } from '../src/inbox/writer.ts';
import { OutboxDispatcher } from '../src/outbox/dispatcher.ts';
import { createPostgresDatabase } from '../test/helpers/db.ts';

const quick = process.argv.includes('--quick');
const base = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL;
if (!base) {
  process.stderr.write('set BENCH_DATABASE_URL (or TEST_DATABASE_URL) to a PostgreSQL server\n');
  process.exit(1);
}
process.env.TEST_DATABASE_URL = base;

const BURST = quick ? 600 : 3000;
const USERS = quick ? 200 : 1000;
const RATE = 50;
const SUSTAIN_S = quick ? 5 : 20;
const CONCURRENCY = Number(process.env.BENCH_WORKER_CONCURRENCY ?? 8);
const DEBOUNCE = Number(process.env.BENCH_COALESCE_DEBOUNCE_MS ?? 0);

const sentAt = new Map<string, number>();
class InstantSender implements ChannelSender {
  readonly channel = 'whatsapp' as const;
  readonly maxTextLength = 4096;
  private n = 0;
  split(t: string) {
    return splitText(t, { limit: 4096 });
  }
  async send(m: OutboundMessage) {
    // The offline assistant echoes what it understood: every message key of a coalesced turn.
    const now = performance.now();
    for (const key of m.text.match(/\bm\d+\b/g) ?? []) if (!sentAt.has(key)) sentAt.set(key, now);
    return { platformMessageId: `wamid.bench.${++this.n}` };
  }
  async typing() {}
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? Number.NaN : s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

async function main() {
  const log = (s: string) => process.stderr.write(`${new Date().toISOString()} ${s}\n`);
  const created = await createPostgresDatabase();
  const database = await openDatabase({ url: created.url, poolSize: 10 });
  await migrate(database);
  const logger = pino({ level: 'warn' });
  const sender = new InstantSender();
  const typing = new TypingKeeper();
  const { EventEmitter } = await import('node:events');
  const inboxEvents = new EventEmitter();
  const outboxEvents = new EventEmitter();
  const writerWithEvents = new InboxWriter(database, { onCommitted: (ids) => inboxEvents.emit('committed', ids) });
  const worker = new InboxWorker({
    database,
    logger,
    concurrency: CONCURRENCY,
    leaseMs: 60_000,
    debounceMs: DEBOUNCE,
    pollMs: 500,
    maxAttempts: 8,
    retryBaseMs: 1000,
    graceMs: 5000,
    events: inboxEvents,
    gaugeMs: 0,
    handle: (turn, signal, lease) =>
      runTurn(
        {
          database,
          logger,
          assistant: new OfflineAssistant(),
          sender: () => sender,
          typing,
          defaultLocale: 'es',
          historyTokens: 3000,
          onQueued: () => outboxEvents.emit('queued'),
        },
        turn,
        signal,
        lease,
      ),
  });
  const dispatcher = new OutboxDispatcher({
    database,
    logger,
    senders: () => new Map([['whatsapp', sender]]),
    concurrency: 16,
    maxAttempts: 8,
    retryBaseMs: 1000,
    leaseMs: 60_000,
    pollMs: 500,
    events: outboxEvents,
  });
  worker.start();
  dispatcher.start();

  let seq = 0;
  const storedAt = new Map<string, number>();
  const event = (user: number): InboundEvent => {
    const key = `m${++seq}`;
    return {
      channel: 'whatsapp',
      externalId: `wamid.bench.in.${key}`,
      chatId: `3460${String(user).padStart(7, '0')}`,
      userId: `u${user}`,
      chatType: 'private',
      kind: 'text',
      text: key,
      sentAt: new Date().toISOString(),
      answer: true,
    };
  };
  const send = async (e: InboundEvent) => {
    await writerWithEvents.accept([e]);
    storedAt.set(e.text as string, performance.now());
  };
  const waitAll = async (keys: string[], timeoutMs: number) => {
    const deadline = performance.now() + timeoutMs;
    let lastLog = 0;
    while (keys.some((k) => !sentAt.has(k))) {
      if (performance.now() - lastLog > 5000) {
        lastLog = performance.now();
        log(`waiting for ${keys.filter((k) => !sentAt.has(k)).length} of ${keys.length}`);
      }
      if (performance.now() > deadline)
        throw new Error(`timed out: ${keys.filter((k) => !sentAt.has(k)).length} unanswered`);
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  const pgCpu = async () => {
    // Total CPU time of PostgreSQL backends is not exposed portably; report xact counts instead.
    const { rows } = await database.query<{ x: number }>(
      'select (xact_commit + xact_rollback)::float8 as x from pg_stat_database where datname = current_database()',
    );
    return rows[0].x;
  };

  log('warm-up');
  await Promise.all(Array.from({ length: 50 }, (_, i) => send(event(i))));
  await waitAll([...storedAt.keys()], 30_000);

  log('burst');
  const burstKeys: string[] = [];
  const cpu0 = process.cpuUsage();
  const x0 = await pgCpu();
  const t0 = performance.now();
  const burst = Array.from({ length: BURST }, (_, i) => event(i % USERS));
  for (const e of burst) burstKeys.push(e.text as string);
  await Promise.all(burst.map(send));
  const stored = performance.now();
  await waitAll(burstKeys, 300_000);
  const t1 = performance.now();
  const cpu1 = process.cpuUsage(cpu0);
  const x1 = await pgCpu();
  const burstSeconds = (t1 - t0) / 1000;
  const coalesced = await database.query<{ turns: number }>(
    `select count(distinct answered_by)::int as turns from inbox_messages where event->>'text' = any($1)`,
    [burstKeys],
  );

  log('sustained');
  const susKeys: string[] = [];
  const cpu2 = process.cpuUsage();
  const startS = performance.now();
  const interval = 1000 / RATE;
  let next = startS;
  const inflight: Promise<void>[] = [];
  for (let i = 0; i < RATE * SUSTAIN_S; i++) {
    if (i % 50 === 0) log(`sent ${i}`);
    const wait = next - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    next += interval;
    const e = event(100_000 + (i % 500));
    susKeys.push(e.text as string);
    inflight.push(send(e));
  }
  await Promise.all(inflight);
  await waitAll(susKeys, 60_000);
  const cpu3 = process.cpuUsage(cpu2);
  const lat = susKeys.map((k) => (sentAt.get(k) as number) - (storedAt.get(k) as number));

  await worker.stop();
  await dispatcher.stop();
  await database.close();
  await created.drop();

  const result = {
    at: new Date().toISOString(),
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version, load1: os.loadavg()[0] },
    settings: { workerConcurrency: CONCURRENCY, coalesceDebounceMs: DEBOUNCE, dispatcherConcurrency: 16, pool: 10 },
    burst: {
      messages: BURST,
      users: USERS,
      storeSeconds: +((stored - t0) / 1000).toFixed(2),
      totalSeconds: +burstSeconds.toFixed(2),
      messagesPerSecond: +(BURST / burstSeconds).toFixed(1),
      turns: coalesced.rows[0].turns,
      turnsPerSecond: +(coalesced.rows[0].turns / burstSeconds).toFixed(1),
      cpuMsPerMessage: +((cpu1.user + cpu1.system) / 1000 / BURST).toFixed(3),
      pgTransactionsPerMessage: +((x1 - x0) / BURST).toFixed(2),
    },
    sustained: {
      rate: RATE,
      seconds: SUSTAIN_S,
      messages: susKeys.length,
      addedLatencyMs: {
        p50: +pct(lat, 50).toFixed(1),
        p95: +pct(lat, 95).toFixed(1),
        p99: +pct(lat, 99).toFixed(1),
        max: +Math.max(...lat).toFixed(1),
      },
      cpuMsPerMessage: +((cpu3.user + cpu3.system) / 1000 / susKeys.length).toFixed(3),
    },
  };
  const out = path.resolve(import.meta.dirname, 'results');
  mkdirSync(out, { recursive: true });
  if (!quick) writeFileSync(path.join(out, 'e2e-throughput.json'), `${JSON.stringify(result, null, 2)}\n`);
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack}\n`);
  process.exit(1);
});
