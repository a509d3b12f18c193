/**
 * The delivery guarantees across real processes on one PostgreSQL database: `wadi start --role
 * worker` children run the turns (offline assistant), a `--role web` child runs alongside, and
 * this process runs the outbox dispatcher with an in-memory test channel so every send is counted
 * (channels are not part of this feature). Plus the dispatcher's crash window, in-process.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { InboundEvent } from '../../src/channels/types.ts';
import { InboxWriter } from '../../src/inbox/writer.ts';
import { createLogger } from '../../src/observability/logging/logger.ts';
import { OutboxDispatcher } from '../../src/outbox/dispatcher.ts';
import { spawnWadi, type WadiProcess } from '../helpers/cli.ts';
import { postgresUrl, type TestDb, testDatabase } from '../helpers/db.ts';
import { TestSender } from '../helpers/test-channel.ts';

const logger = createLogger({ level: 'silent', format: 'json', secrets: [] }).logger;
let seq = 0;

function ev(user: number, key: string): InboundEvent {
  return {
    channel: 'whatsapp',
    externalId: `wamid.proc.${key}.${Math.random()}`,
    chatId: `3470${String(user).padStart(7, '0')}`,
    userId: `u${user}`,
    chatType: 'private',
    kind: 'text',
    text: key,
    sentAt: new Date().toISOString(),
    answer: true,
  };
}

async function until(what: string, fn: () => Promise<boolean> | boolean, ms = 90_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Message keys in the order each chat received them (the offline assistant echoes what it understood). */
function keysByChat(sender: TestSender): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const s of sender.sends) {
    const keys = s.text.match(/\bk\d+\b/g) ?? [];
    m.set(s.chatId, [...(m.get(s.chatId) ?? []), ...keys]);
  }
  return m;
}

describe.runIf(postgresUrl())('worker processes on one database', () => {
  let t: TestDb;
  let url: string;
  const children: WadiProcess[] = [];
  const stopChildren = async () => {
    for (const c of children.splice(0)) {
      if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGTERM');
      await c.exited;
    }
  };
  const spawn = (role: 'worker' | 'web', env: Record<string, string> = {}) => {
    const p = spawnWadi(['start', '--role', role], {
      env: {
        DATABASE_URL: url,
        PORT: '0',
        HOST: '127.0.0.1',
        COALESCE_DEBOUNCE_MS: '0',
        WORKER_POLL_MS: '100',
        WORKER_CONCURRENCY: '4',
        DATABASE_POOL_SIZE: '4',
        // The test process's dispatcher sends (and counts) every reply; the children only run turns.
        OUTBOX_CONCURRENCY: '0',
        LOG_LEVEL: 'warn',
        ...env,
      },
    });
    children.push(p);
    return p;
  };
  const started = (p: WadiProcess) =>
    until('child start', () => p.output().includes('WADI is running'), 60_000).catch((err) => {
      throw new Error(`${(err as Error).message}\n${p.output()}`);
    });
  const count = async (sql: string) => (await t.database.query<{ n: number }>(sql)).rows[0].n;

  beforeAll(async () => {
    t = await testDatabase('postgres');
    url = t.url as string;
  });
  afterEach(stopChildren);
  afterAll(async () => {
    await stopChildren();
    await t?.drop();
  });

  function dispatcherWith(sender: TestSender, alive: () => boolean = () => true): OutboxDispatcher {
    return new OutboxDispatcher({
      database: t.database,
      logger,
      // A dead process claims nothing: with no sender, the dispatcher takes no rows.
      senders: () => new Map(alive() ? [[sender.channel, sender]] : []),
      concurrency: 8,
      maxAttempts: 5,
      retryBaseMs: 50,
      leaseMs: 5000,
      pollMs: 50,
    });
  }

  it('two workers and a web process: every message answered exactly once, in order per user', async () => {
    const workers = [spawn('worker'), spawn('worker')];
    const web = spawn('web');
    await Promise.all([...workers, web].map(started));
    const sender = new TestSender('whatsapp');
    const dispatcher = dispatcherWith(sender);
    dispatcher.start();
    const writer = new InboxWriter(t.database);
    const keys: string[] = [];
    try {
      // Each round holds one message per user and is stored before the next: a user's messages
      // have a defined order (concurrent deliveries from one user have none).
      for (let round = 0; round < 12; round++) {
        const batch = Array.from({ length: 20 }, (_, i) => ev(i, `k${++seq}`));
        keys.push(...batch.map((e) => e.text as string));
        await Promise.all(batch.map((e) => writer.accept([e])));
        await new Promise((r) => setTimeout(r, 75));
      }
      await until('all answered', async () => {
        const seen = new Set([...keysByChat(sender).values()].flat());
        return keys.every((k) => seen.has(k));
      });
      await until(
        'outbox drained',
        async () => (await count(`select count(*)::int as n from outbox_messages where status <> 'sent'`)) === 0,
      );
    } finally {
      await dispatcher.stop();
    }
    const all = [...keysByChat(sender).values()].flat();
    expect(all.length).toBe(keys.length); // nobody answered twice
    expect(new Set(all).size).toBe(keys.length);
    for (const [, ks] of keysByChat(sender)) {
      const n = ks.map((k) => Number(k.slice(1)));
      expect(n).toEqual([...n].sort((a, b) => a - b));
    }
    expect(await count(`select count(*)::int as n from inbox_messages where status <> 'done'`)).toBe(0);
    expect(web.output()).not.toContain('inbox-worker');
  }, 240_000);

  it('kill -9 of a worker in the middle of a backlog, then restart: every message answered, none twice', async () => {
    // One turn at a time and one message per user, so the backlog is still there when the worker dies.
    const env = { INBOX_LEASE_MS: '1500', WORKER_CONCURRENCY: '1' };
    const a = spawn('worker', env);
    await started(a);
    const sender = new TestSender('whatsapp');
    const dispatcher = dispatcherWith(sender);
    dispatcher.start();
    const writer = new InboxWriter(t.database);
    const first = seq;
    const backlog = Array.from({ length: 600 }, (_, i) => ev(1000 + i, `k${++seq}`));
    const keys = backlog.map((e) => e.text as string);
    const mine = `substring(event->>'text' from 2)::int > ${first}`;
    try {
      await Promise.all(backlog.map((e) => writer.accept([e])));
      await until(
        'some progress',
        async () =>
          (await count(`select count(*)::int as n from inbox_messages where status = 'done' and ${mine}`)) >= 30,
      );
      a.child.kill('SIGKILL');
      await a.exited;
      const left = await count(`select count(*)::int as n from inbox_messages where status <> 'done' and ${mine}`);
      expect(left).toBeGreaterThan(0); // the crash really left a backlog (and likely a turn in hand) behind
      const b = spawn('worker', { ...env, WORKER_CONCURRENCY: '4' });
      await started(b);
      await until(
        'all answered',
        () => {
          const seen = new Set([...keysByChat(sender).values()].flat());
          return keys.every((k) => seen.has(k));
        },
        180_000,
      );
      await until(
        'outbox drained',
        async () => (await count(`select count(*)::int as n from outbox_messages where status <> 'sent'`)) === 0,
      );
    } finally {
      await dispatcher.stop();
    }
    const answered = [...keysByChat(sender).values()].flat().filter((k) => keys.includes(k));
    const duplicates = answered.length - new Set(answered).size;
    expect(new Set(answered).size).toBe(keys.length);
    expect(duplicates).toBeLessThanOrEqual(1); // at most the one in flight per crash
    expect(await count(`select count(*)::int as n from inbox_messages where status <> 'done' and ${mine}`)).toBe(0);
  }, 400_000);

  it('a dispatcher that dies with a send in flight: resent once after the lease expires, nothing lost', async () => {
    const chat = '34999000111';
    const conv = await t.database.query<{ id: number }>(
      `insert into conversations (channel, chat_id, last_inbound_at) values ('telegram', $1, now()) returning id`,
      [chat],
    );
    const convId = conv.rows[0].id;
    await t.database.query(
      `insert into outbox_messages (channel, chat_id, conversation_id, part, body)
       select 'telegram', $1, $2, g, 'parte ' || g from generate_series(0, 4) g`,
      [chat, convId],
    );
    const platform: string[] = [];
    let release: (() => void) | undefined;
    const dying = new TestSender('telegram');
    dying.send = async (m) => {
      platform.push(m.text); // the platform accepted it…
      await new Promise<void>((r) => {
        release = r;
      }); // …and the process died before recording it
      throw new Error('process gone');
    };
    let alive = true;
    const a = dispatcherWith(dying, () => alive);
    a.start();
    await until('in flight', () => platform.length === 1, 10_000);
    alive = false;
    // The crashed process's lease runs out.
    await t.database.query(
      `update outbox_messages set lease_until = now() - interval '1 second' where status = 'sending'`,
    );
    const healthy = new TestSender('telegram');
    healthy.send = async (m) => {
      platform.push(m.text);
      return { platformMessageId: `wamid.ok.${platform.length}` };
    };
    const b = dispatcherWith(healthy);
    b.start();
    await until(
      'all sent',
      async () =>
        (await count(
          `select count(*)::int as n from outbox_messages where conversation_id = ${convId} and status = 'sent'`,
        )) === 5,
      20_000,
    );
    release?.();
    await Promise.all([a.stop(), b.stop()]);
    expect(platform).toEqual(['parte 0', 'parte 0', 'parte 1', 'parte 2', 'parte 3', 'parte 4']);
    const rows = await t.database.query<{ status: string }>(
      'select status from outbox_messages where conversation_id = $1 order by id',
      [convId],
    );
    expect(rows.rows.every((r) => r.status === 'sent')).toBe(true);
  }, 60_000);
});
