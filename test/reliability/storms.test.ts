/**
 * Fault tests, continued: a Redis outage (limits fall back to in-process, readiness warns, nothing
 * crashes) and upstream storms from the sandbox (Graph API 130429/5xx bursts, Telegram 429 with
 * retry_after, LLM timeouts): every message answered, no send repeated, every outcome recorded.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Cluster, postTelegram, postWhatsapp } from '../helpers/cluster.ts';
import { createPostgresDatabase, postgresUrl } from '../helpers/db.ts';
import { FaultProxy } from '../helpers/fault-proxy.ts';

const TIMEOUT = 240_000;
const redisUrl = process.env.TEST_REDIS_URL;

describe.runIf(postgresUrl() && redisUrl)('Redis outage and upstream storms', () => {
  let cluster: Cluster | undefined;
  let drop: (() => Promise<void>) | undefined;
  let proxy: FaultProxy | undefined;
  afterEach(async () => {
    await cluster?.stop();
    await proxy?.close();
    await drop?.();
    cluster = proxy = drop = undefined;
  });

  it(
    'a Redis outage: readiness warns, webhooks keep answering, replies keep going out, recovery by itself',
    async () => {
      const db = await createPostgresDatabase();
      drop = db.drop;
      const r = new URL(redisUrl ?? '');
      proxy = await FaultProxy.start({ host: r.hostname, port: Number(r.port || 6379) });
      const c = new Cluster(db.url, { REDIS_URL: proxy.url(redisUrl ?? '') });
      cluster = c;
      await c.startSandbox();
      const web = await c.start('web');
      await c.start('worker');
      const readiness = async () =>
        (await (await fetch(`${web.url}/health/ready`)).json()) as {
          status: string;
          checks: Record<string, { status: string }[]>;
        };
      expect((await readiness()).checks['redis:connection'][0].status).toBe('pass');

      const prefix = `wamid.redis.${Date.now().toString(36)}`;
      const acked: string[] = [];
      const send = async (i: number) => {
        const id = `${prefix}.${i}`;
        const status = await postWhatsapp(web.url, {
          from: `3490${String(i).padStart(7, '0')}`,
          id,
          text: `hola ${i}`,
        });
        if (status === 200) acked.push(id);
        return status;
      };
      for (let i = 0; i < 10; i++) expect(await send(i)).toBe(200);
      proxy.outage();
      await new Promise((r) => setTimeout(r, 1500));
      const during = await readiness();
      expect(during.status).toBe('warn');
      expect(during.checks['redis:connection'][0].status).toBe('warn');
      for (let i = 10; i < 30; i++) expect(await send(i)).toBe(200);
      proxy.restore();
      const deadline = Date.now() + 30_000;
      while (Date.now() < deadline && (await readiness()).status !== 'pass')
        await new Promise((r) => setTimeout(r, 500));
      expect((await readiness()).status).toBe('pass');
      for (let i = 30; i < 40; i++) expect(await send(i)).toBe(200);
      expect((await c.drained(90_000)).pending).toBe(0);
      const answered = new Set((await c.sandboxSends('whatsapp')).map((s) => s.to));
      expect(acked).toHaveLength(40);
      for (let i = 0; i < 40; i++) expect(answered.has(`3490${String(i).padStart(7, '0')}`)).toBe(true);
      expect(web.p.exited).toBeInstanceOf(Promise);
      expect(web.p.child.exitCode).toBeNull();
    },
    TIMEOUT,
  );

  it(
    'upstream storms: retries stay within budget, nothing is sent twice, every outcome is recorded',
    async () => {
      const db = await createPostgresDatabase();
      drop = db.drop;
      const c = new Cluster(db.url, {
        WADI_SANDBOX_LLM: 'true',
        OPENAI_TIMEOUT_MS: '1000',
        OPENAI_MAX_RETRIES: '0',
        OUTBOX_RETRY_BASE_MS: '100',
        INBOX_RETRY_BASE_MS: '100',
        ASSISTANT_BREAKER_OPEN_MS: '2000',
      });
      cluster = c;
      const sandbox = await c.startSandbox();
      const web = await c.start('web');
      await c.start('worker');
      const fault = (f: Record<string, unknown>) =>
        fetch(`${sandbox.url}/sandbox/faults`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(f),
        });
      await fault({ channel: 'whatsapp', kind: 'send_text', code: 130429, count: 8 });
      await fault({ channel: 'whatsapp', kind: 'send_text', status: 500, code: 131000, count: 4 });
      await fault({ channel: 'telegram', kind: 'sendMessage', status: 429, retry_after: 1, count: 3 });
      await fault({ channel: 'llm', kind: 'chat_completion', delay_ms: 3000, count: 2 });

      const prefix = `wamid.storm.${Date.now().toString(36)}`;
      for (let i = 0; i < 20; i++) {
        expect(
          await postWhatsapp(web.url, {
            from: `3500${String(i).padStart(7, '0')}`,
            id: `${prefix}.${i}`,
            text: `hola ${i}`,
          }),
        ).toBe(200);
      }
      const base = Date.now() % 1_000_000_000;
      for (let i = 0; i < 8; i++) {
        expect(await postTelegram(web.url, { updateId: base + i, chatId: 800_000_000 + i, text: `hola ${i}` })).toBe(
          200,
        );
      }
      expect((await c.drained(120_000)).pending).toBe(0);

      const wa = await c.sandboxSends('whatsapp');
      const tg = await c.sandboxSends('telegram');
      // Every user answered; no identical message delivered twice to the same user.
      for (let i = 0; i < 20; i++) expect(wa.some((s) => s.to === `3500${String(i).padStart(7, '0')}`)).toBe(true);
      for (let i = 0; i < 8; i++) expect(tg.some((s) => s.to === String(800_000_000 + i))).toBe(true);
      const keys = [...wa, ...tg].map((s) => `${s.to}\u0000${s.body}`);
      expect(new Set(keys).size).toBe(keys.length);
      // Outcomes: every outbound row ended sent (the faults were transient), within the attempt budget.
      const rows = await c.query<{ status: string; attempts: number }>('select status, attempts from outbox_messages');
      expect(rows.every((r) => r.status === 'sent')).toBe(true);
      expect(Math.max(...rows.map((r) => r.attempts))).toBeLessThanOrEqual(8);
      const retried = rows.filter((r) => r.attempts > 1).length;
      console.info(
        'storm figures',
        JSON.stringify({
          whatsappSends: wa.length,
          telegramSends: tg.length,
          outboxRows: rows.length,
          retriedRows: retried,
        }),
      );
      expect(retried).toBeGreaterThan(0);
    },
    TIMEOUT,
  );
});
