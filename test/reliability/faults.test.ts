/**
 * Fault tests: WADI as real processes against real PostgreSQL (through a fault proxy where the
 * database must fail) with a standalone sandbox as every upstream. Each test drives signed
 * webhooks and then checks the delivery guarantees of CONTRACT.md: every acknowledged message is
 * stored and answered, and duplicates never exceed the number of crashes.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Cluster, driveWhatsapp, type Proc, postWhatsapp } from '../helpers/cluster.ts';
import { createPostgresDatabase, postgresUrl } from '../helpers/db.ts';
import { FaultProxy } from '../helpers/fault-proxy.ts';

const TIMEOUT = 240_000;

/** Checks the guarantees for messages sent one per user; returns the figures for the report. */
async function checkGuarantees(c: Cluster, acked: string[], crashes: number) {
  const rows = await c.query<{ external_id: string; status: string; chat_id: string }>(
    'select external_id, status, chat_id from inbox_messages where external_id = any($1)',
    [acked],
  );
  const stored = rows.length;
  const answeredUsers = new Set((await c.sandboxSends('whatsapp')).map((s) => s.to));
  const sends = (await c.sandboxSends('whatsapp')).filter((s) => rows.some((r) => r.chat_id === s.to)).length;
  const [{ n: sentRows }] = await c.query<{ n: number }>(
    `select count(*)::int as n from outbox_messages o join inbox_messages i on i.conversation_id = o.conversation_id
     where i.external_id = any($1) and o.status in ('sent', 'delivered', 'read')`,
    [acked],
  );
  const unanswered = rows.filter((r) => !answeredUsers.has(r.chat_id)).length;
  const figures = {
    acknowledged: acked.length,
    stored,
    answered: stored - unanswered,
    sends,
    sentRows,
    duplicates: sends - sentRows,
  };
  expect(stored, JSON.stringify(figures)).toBe(acked.length);
  expect(
    rows.every((r) => r.status === 'done'),
    JSON.stringify(figures),
  ).toBe(true);
  expect(unanswered, JSON.stringify(figures)).toBe(0);
  expect(figures.duplicates, JSON.stringify(figures)).toBeLessThanOrEqual(crashes);
  return figures;
}

/** Redelivers what was not acknowledged, the way Meta retries, until every id is acknowledged. */
async function redeliver(total: number, prefix: string, acked: string[], webs: () => Proc[]) {
  const ackedSet = new Set(acked);
  for (let round = 0; round < 20 && ackedSet.size < total; round++) {
    for (let i = 0; i < total; i++) {
      const id = `${prefix}.${i}`;
      if (ackedSet.has(id)) continue;
      const ws = webs();
      const status = await postWhatsapp(ws[i % ws.length].url, {
        from: `3470${String(i).padStart(7, '0')}`,
        id,
        text: `mensaje ${i}`,
      });
      if (status === 200) ackedSet.add(id);
    }
    if (ackedSet.size < total) await new Promise((r) => setTimeout(r, 500));
  }
  return [...ackedSet];
}

describe.runIf(postgresUrl())('fault tests with real processes', () => {
  let cluster: Cluster | undefined;
  let drop: (() => Promise<void>) | undefined;
  let proxy: FaultProxy | undefined;
  afterEach(async () => {
    await cluster?.stop();
    await proxy?.close();
    await drop?.();
    cluster = undefined;
    proxy = undefined;
    drop = undefined;
  });

  async function setup(env: Record<string, string> = {}, viaProxy = false) {
    const db = await createPostgresDatabase();
    drop = db.drop;
    let url = db.url;
    if (viaProxy) {
      const u = new URL(db.url);
      proxy = await FaultProxy.start({ host: u.hostname, port: Number(u.port || 5432) });
      url = proxy.url(db.url);
    }
    cluster = new Cluster(url, env);
    await cluster.startSandbox();
    return cluster;
  }

  it(
    'kill -9 of web and worker processes during load loses nothing and repeats only sends in flight',
    async () => {
      const c = await setup();
      const webs = [await c.start('web'), await c.start('web')];
      let workers = [await c.start('worker'), await c.start('worker')];
      const prefix = `wamid.kill.${Date.now().toString(36)}`;
      const total = 240;
      let crashes = 0;
      const chaos = async (i: number) => {
        if (i === 60) {
          await c.kill9(workers[0]);
          crashes++;
          workers = [workers[1], await c.start('worker')];
        } else if (i === 120) {
          const dead = webs.shift() as Proc;
          await c.kill9(dead);
          webs.push(await c.start('web'));
        } else if (i === 180) {
          await c.kill9(workers[0]);
          crashes++;
          workers = [workers[1], await c.start('worker')];
        }
      };
      const pendingChaos: Promise<void>[] = [];
      const { acked } = await driveWhatsapp(() => webs.map((w) => w.url), total, {
        prefix,
        concurrency: 8,
        onSent: (i) => pendingChaos.push(chaos(i)),
      });
      await Promise.all(pendingChaos);
      const all = await redeliver(total, prefix, acked, () => webs);
      expect((await c.drained(90_000)).pending).toBe(0);
      // Each crashed worker may repeat the sends it had in flight (at most OUTBOX_CONCURRENCY, 16).
      const figures = await checkGuarantees(c, all, crashes * 16);
      console.info('kill -9 figures', JSON.stringify({ ...figures, crashes }));
    },
    TIMEOUT,
  );

  it(
    'a 10 s database outage: webhooks answer 503, readiness fails, WADI recovers without a restart',
    async () => {
      const c = await setup({}, true);
      const web = await c.start('web');
      await c.start('worker');
      const prefix = `wamid.dbout.${Date.now().toString(36)}`;
      const seen: Record<string, number> = {};
      let readyDuringOutage = 0;
      // Senders keep going, one message every 50 ms each, until the outage is over.
      let stop = false;
      let total = 0;
      const statuses: Record<string, number> = {};
      const acked: string[] = [];
      const sender = async () => {
        while (!stop) {
          const i = total++;
          const id = `${prefix}.${i}`;
          const status = await postWhatsapp(web.url, {
            from: `3470${String(i).padStart(7, '0')}`,
            id,
            text: `mensaje ${i}`,
          });
          statuses[status] = (statuses[status] ?? 0) + 1;
          if (status === 200) acked.push(id);
          await new Promise((r) => setTimeout(r, 50));
        }
      };
      const drive = Promise.all([sender(), sender()]);
      await new Promise((r) => setTimeout(r, 2000));
      proxy?.outage();
      const outageEnds = Date.now() + 10_000;
      while (Date.now() < outageEnds) {
        const r = await fetch(`${web.url}/health/ready`).catch(() => undefined);
        if (r) {
          seen[r.status] = (seen[r.status] ?? 0) + 1;
          if (r.status === 200) readyDuringOutage++;
        }
        await new Promise((r) => setTimeout(r, 500));
      }
      proxy?.restore();
      await new Promise((r) => setTimeout(r, 1000));
      stop = true;
      await drive;
      expect(seen['503'] ?? 0).toBeGreaterThan(0);
      expect(readyDuringOutage).toBeLessThanOrEqual(1); // at most the probe in flight when it began
      expect(statuses['503'] ?? 0).toBeGreaterThan(0);
      expect(statuses['500'] ?? 0).toBe(0);
      // Readiness comes back by itself.
      const deadline = Date.now() + 30_000;
      let ready = 0;
      while (Date.now() < deadline && ready !== 200) {
        ready = (await fetch(`${web.url}/health/ready`).catch(() => undefined))?.status ?? 0;
        if (ready !== 200) await new Promise((r) => setTimeout(r, 500));
      }
      expect(ready).toBe(200);
      const all = await redeliver(total, prefix, acked, () => [web]);
      expect((await c.drained(90_000)).pending).toBe(0);
      // A send the platform accepted while the database was going away cannot be recorded as sent,
      // so it goes out again once its lease expires: like a crash, the outage may repeat the sends
      // in flight at that moment (at most OUTBOX_CONCURRENCY, 16), and lose none.
      const figures = await checkGuarantees(c, all, 16);
      console.info(
        'database outage figures',
        JSON.stringify({ ...figures, webhookStatuses: statuses, readiness: seen }),
      );
    },
    TIMEOUT,
  );

  it(
    'SIGTERM during load: in-flight requests finish, exit 0, the next process picks up the work',
    async () => {
      const c = await setup();
      const webs = [await c.start('web'), await c.start('web')];
      let worker = await c.start('worker');
      const prefix = `wamid.term.${Date.now().toString(36)}`;
      const total = 150;
      const codes: (number | null)[] = [];
      const events: Promise<void>[] = [];
      const { acked } = await driveWhatsapp(() => webs.map((w) => w.url), total, {
        prefix,
        concurrency: 6,
        onSent: (i) => {
          if (i === 50) {
            events.push(
              (async () => {
                const w = webs.shift() as Proc;
                codes.push(await c.terminate(w));
              })(),
            );
          }
          if (i === 90) {
            events.push(
              (async () => {
                codes.push(await c.terminate(worker));
                worker = await c.start('worker');
              })(),
            );
          }
        },
      });
      await Promise.all(events);
      expect(codes).toEqual([0, 0]);
      const all = await redeliver(total, prefix, acked, () => webs);
      expect((await c.drained(90_000)).pending).toBe(0);
      const figures = await checkGuarantees(c, all, 0);
      console.info('SIGTERM figures', JSON.stringify(figures));
    },
    TIMEOUT,
  );

  it(
    'two web and two worker processes, the same deliveries sent to both at once: one event and one reply each',
    async () => {
      const c = await setup();
      const webs = [await c.start('web'), await c.start('web')];
      await c.start('worker');
      await c.start('worker');
      const prefix = `wamid.dup.${Date.now().toString(36)}`;
      const total = 80;
      const acked: string[] = [];
      for (let i = 0; i < total; i += 8) {
        await Promise.all(
          Array.from({ length: Math.min(8, total - i) }, async (_, k) => {
            const n = i + k;
            const msg = { from: `3480${String(n).padStart(7, '0')}`, id: `${prefix}.${n}`, text: `hola ${n}` };
            const [a, b] = await Promise.all(webs.map((w) => postWhatsapp(w.url, msg)));
            expect([a, b]).toEqual([200, 200]);
            acked.push(msg.id);
          }),
        );
      }
      expect((await c.drained(90_000)).pending).toBe(0);
      const [{ n }] = await c.query<{ n: number }>(
        'select count(*)::int as n from inbox_messages where external_id like $1',
        [`${prefix}.%`],
      );
      expect(n).toBe(total);
      const sends = await c.sandboxSends('whatsapp');
      const perUser = new Map<string, number>();
      for (const s of sends) perUser.set(s.to, (perUser.get(s.to) ?? 0) + 1);
      const [{ parts }] = await c.query<{ parts: number }>(
        `select count(*)::int as parts from outbox_messages o join inbox_messages i on i.conversation_id = o.conversation_id where i.external_id like $1`,
        [`${prefix}.%`],
      );
      expect(sends.filter((s) => s.to.startsWith('3480')).length).toBe(parts);
      const figures = await checkGuarantees(c, acked, 0);
      console.info('double delivery figures', JSON.stringify(figures));
    },
    TIMEOUT,
  );
});
