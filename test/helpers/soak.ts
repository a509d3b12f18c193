/**
 * A soak run: one `wadi start` (role all, real PostgreSQL, standalone sandbox) driven at a steady
 * rate of signed WhatsApp webhooks, sampled every second for RSS, open file descriptors,
 * event-loop delay and database connections. Used by the shortened soak test and bench/soak.ts.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { Cluster, postWhatsapp } from './cluster.ts';
import { createPostgresDatabase } from './db.ts';

/** One sample. */
export interface SoakSample {
  readonly t: number;
  readonly rssMb: number;
  readonly fds: number;
  readonly loopP99Ms: number | null;
  readonly dbConnections: number;
}

/** What a soak run observed. */
export interface SoakResult {
  readonly seconds: number;
  readonly ratePerSecond: number;
  readonly sent: number;
  readonly acknowledged: number;
  /** Answers by status code (or error message), so a failing run says what it got instead. */
  readonly statuses: Record<string, number>;
  /** Deliveries sent again after a non-200 answer (0 = no answer in time). */
  readonly redelivered: number;
  /** Inbox rows of this run's wamids, and how many distinct wamids they hold (exactly once: equal to sent). */
  readonly stored: number;
  readonly storedDistinct: number;
  readonly pendingAfterDrain: number;
  readonly drainSeconds: number;
  /** Least-squares slope over the second half of the run (the first half is warm-up). */
  readonly rssSlopeMbPerMinute: number;
  readonly loopP99SlopeMsPerMinute: number;
  readonly fds: { readonly start: number; readonly end: number; readonly max: number };
  readonly dbConnections: { readonly max: number; readonly end: number };
  readonly rssMb: { readonly start: number; readonly end: number; readonly max: number };
  readonly samples: readonly SoakSample[];
}

function slopePerMinute(points: { t: number; v: number }[]): number {
  if (points.length < 2) return 0;
  const n = points.length;
  const mt = points.reduce((s, p) => s + p.t, 0) / n;
  const mv = points.reduce((s, p) => s + p.v, 0) / n;
  const num = points.reduce((s, p) => s + (p.t - mt) * (p.v - mv), 0);
  const den = points.reduce((s, p) => s + (p.t - mt) ** 2, 0);
  return den === 0 ? 0 : Math.round((num / den) * 60 * 100) / 100;
}

/** Runs a soak of `seconds` at `rate` messages per second. */
export async function soak(seconds: number, rate: number): Promise<SoakResult> {
  const db = await createPostgresDatabase();
  const c = new Cluster(db.url, { LOG_LEVEL: 'warn' });
  try {
    await c.startSandbox();
    // role all: web and workers in one process (the `npm start` shape).
    const proc = await c.startRole('all');
    const pid = proc.p.child.pid as number;
    const samples: SoakSample[] = [];
    const t0 = Date.now();
    const sample = async () => {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      const rss = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
      const fds = readdirSync(`/proc/${pid}/fd`).length;
      const metrics = await fetch(`${proc.url}/metrics`).then(
        (r) => r.text(),
        () => '',
      );
      const lag = /^nodejs_eventloop_lag_p99_seconds\s+([\d.e-]+)/m.exec(metrics);
      const [{ n }] = await c.query<{ n: number }>(
        'select count(*)::int as n from pg_stat_activity where datname = current_database()',
      );
      samples.push({
        t: (Date.now() - t0) / 1000,
        rssMb: Math.round(rss * 10) / 10,
        fds,
        loopP99Ms: lag ? Math.round(Number(lag[1]) * 1e4) / 10 : null,
        dbConnections: n - 1,
      });
    };
    const sampler = setInterval(() => void sample().catch(() => {}), 1000);
    let sent = 0;
    let acknowledged = 0;
    const statuses: Record<string, number> = {};
    let redelivered = 0;
    const prefix = `wamid.soak.${Date.now().toString(36)}`;
    const inFlight = new Set<Promise<void>>();
    const end = t0 + seconds * 1000;
    while (Date.now() < end) {
      const i = sent++;
      const message = { from: `3510${String(i % 500).padStart(7, '0')}`, id: `${prefix}.${i}`, text: `mensaje ${i}` };
      // As Meta does: a delivery not answered 200 (shed with 503 under pressure, or no answer in
      // 15 s) is sent again later, the same wamid; WADI must store it exactly once either way.
      const deliver = async (attempt: number): Promise<void> => {
        const s = await postWhatsapp(proc.url, message);
        statuses[s] = (statuses[s] ?? 0) + 1;
        if (s === 200) {
          acknowledged++;
        } else if (attempt < 3) {
          redelivered++;
          await new Promise((r) => setTimeout(r, 2000 * attempt));
          await deliver(attempt + 1);
        }
      };
      const p = deliver(1);
      inFlight.add(p);
      void p.finally(() => inFlight.delete(p));
      const next = t0 + (sent * 1000) / rate;
      const wait = next - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
    await Promise.all(inFlight);
    const drainStart = Date.now();
    const { pending } = await c.drained(120_000);
    const drainSeconds = Math.round((Date.now() - drainStart) / 100) / 10;
    const storedRows = await c.query<{ n: number; distinct: number }>(
      `select count(*)::int as n, count(distinct external_id)::int as distinct from inbox_messages
        where channel = 'whatsapp' and external_id like $1`,
      [`${prefix}.%`],
    );
    const stored = storedRows[0] ?? { n: 0, distinct: 0 };
    await sample();
    clearInterval(sampler);
    const half = samples.filter((s) => s.t >= seconds / 2 && s.t <= seconds);
    return {
      seconds,
      ratePerSecond: rate,
      sent,
      acknowledged,
      statuses,
      redelivered,
      stored: stored.n,
      storedDistinct: stored.distinct,
      pendingAfterDrain: pending,
      drainSeconds,
      rssSlopeMbPerMinute: slopePerMinute(half.map((s) => ({ t: s.t, v: s.rssMb }))),
      loopP99SlopeMsPerMinute: slopePerMinute(
        half.filter((s) => s.loopP99Ms !== null).map((s) => ({ t: s.t, v: s.loopP99Ms as number })),
      ),
      fds: { start: samples[0]?.fds ?? 0, end: samples.at(-1)?.fds ?? 0, max: Math.max(...samples.map((s) => s.fds)) },
      dbConnections: { max: Math.max(...samples.map((s) => s.dbConnections)), end: samples.at(-1)?.dbConnections ?? 0 },
      rssMb: {
        start: samples[0]?.rssMb ?? 0,
        end: samples.at(-1)?.rssMb ?? 0,
        max: Math.max(...samples.map((s) => s.rssMb)),
      },
      samples,
    };
  } finally {
    await c.stop();
    await db.drop();
  }
}
