/**
 * The alert evaluator: every 10 s the one replica holding the alerts advisory lock evaluates each
 * rule, moves it pending → firing → resolved using its `for` duration, records firing episodes in
 * `alert_events`, updates `wadi_alerts_firing` and delivers due notifications. Any replica may
 * lead; when the leader's lock connection dies (`HeldLock.lost`) or it stops, another takes over
 * on its next tick and resumes from the firing rows in the database.
 */
import type { Logger } from 'pino';
import type { Database, HeldLock } from '../../db/client.ts';
import { type Clock, systemClock } from '../../kernel/clock.ts';
import type { BackgroundService } from '../../kernel/service.ts';
import { metrics } from '../../observability/metrics/metrics.ts';
import { AlertDelivery, type AlertEventRow as EventRow } from './delivery.ts';
import { type Notifier, runbookLink } from './notifiers.ts';
import { DatabaseOutage } from './outage.ts';
import type { AlertRule } from './rules.ts';

/** An alert as shown by /admin/alerts. */
export interface AlertView {
  readonly alert: string;
  readonly state: 'pending' | 'firing' | 'resolved';
  readonly value?: string;
  readonly threshold?: string;
  readonly summary?: string;
  readonly startedAt: string;
  readonly resolvedAt?: string;
  readonly runbook?: string;
}

/** Alert state for /admin/alerts (the port admin uses). */
export interface AlertsProvider {
  firing(): Promise<AlertView[]>;
  recent(limit: number): Promise<AlertView[]>;
}

/** Advisory lock key of the alert leader ("WADI" + 1). */
export const ALERTS_LOCK_KEY = 0x5741_4401;
/** How often rules are evaluated. */
export const EVALUATE_EVERY_MS = 10_000;

interface RuleState {
  phase: 'pending' | 'firing';
  activeSince: number;
  value: string;
  eventId?: number;
}

/** What the engine needs. */
export interface AlertEngineOptions {
  readonly database: Database;
  readonly rules: readonly AlertRule[];
  readonly notifiers: readonly Notifier[];
  readonly logger: Logger;
  readonly repeatSeconds: number;
  /** Decision time (kernel/clock.ts); tests move it by hand. */
  readonly clock?: Clock;
  readonly runbookBase?: string;
  readonly lockKey?: number;
  /** After how long an unreachable database is announced directly (default 60 s). */
  readonly outageForSeconds?: number;
}

/** Evaluates rules when leader; serves alert state to /admin/alerts on every replica. */
export class AlertEngine implements AlertsProvider, BackgroundService {
  readonly name = 'alerts';
  private readonly opts: AlertEngineOptions;
  private readonly clock: Clock;
  private readonly delivery: AlertDelivery;
  private readonly outage: DatabaseOutage;
  private readonly states = new Map<string, RuleState>();
  private lock: HeldLock | null = null;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(opts: AlertEngineOptions) {
    this.opts = opts;
    this.clock = opts.clock ?? systemClock;
    this.delivery = new AlertDelivery(opts);
    this.outage = new DatabaseOutage({ ...opts, forSeconds: opts.outageForSeconds ?? 60 });
    for (const r of opts.rules) metrics.alertsFiring.set({ alert: r.name }, 0);
  }

  /** True while this replica holds the alerts lock. */
  get isLeader(): boolean {
    return this.lock !== null;
  }

  start(): void {
    this.stopped = false;
    this.timer = setInterval(() => void this.tick(), EVALUATE_EVERY_MS);
    this.timer.unref();
    void this.tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.running;
    await this.resign();
  }

  /** One evaluation round (the timer calls this; tests call it directly). Never throws. */
  tick(): Promise<void> {
    // A slow round (a notifier timing out) must not overlap the next one.
    this.running ??= this.round().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async round(): Promise<void> {
    if (this.stopped) return;
    if (!this.lock) {
      const now = this.clock.now();
      let led: boolean;
      try {
        led = await this.tryLead();
      } catch (err) {
        // Not even the lock can be asked for: the database is down (see outage.ts).
        await this.outage.failed(now, err as Error);
        return;
      }
      await this.outage.recovered(now);
      if (!led) return;
    }
    try {
      const now = this.clock.now();
      for (const rule of this.opts.rules) await this.evaluate(rule, now);
      await this.delivery.deliver(now);
    } catch (err) {
      this.opts.logger.error({ err }, 'alert evaluation failed');
    }
  }

  private async tryLead(): Promise<boolean> {
    const lock = await this.opts.database.tryAdvisoryLock(this.opts.lockKey ?? ALERTS_LOCK_KEY);
    if (!lock) return false;
    this.lock = lock;
    void lock.lost.then(() => {
      if (this.lock !== lock) return;
      this.opts.logger.warn('alert leadership lost (lock connection closed)');
      this.lock = null;
      this.forget();
    });
    // Episodes of rules this version no longer has would stay "firing" forever: close them quietly.
    const at = new Date(this.clock.now()).toISOString();
    await this.opts.database.query(
      `update alert_events set state = 'resolved', resolved_at = $1, last_notified_at = $1
        where state = 'firing' and not (alert = any($2::text[]))`,
      [at, this.opts.rules.map((r) => r.name)],
    );
    // Resume the episodes a previous leader left firing, so they are neither re-announced nor orphaned.
    const { rows } = await this.opts.database.query<EventRow & { started_at: Date | string }>(
      `select id, alert, value, started_at from alert_events where state = 'firing' order by id`,
    );
    this.states.clear();
    for (const row of rows) {
      this.states.set(row.alert, {
        phase: 'firing',
        activeSince: new Date(row.started_at).getTime(),
        value: row.value ?? '',
        eventId: row.id,
      });
    }
    this.opts.logger.info({ firing: rows.map((r) => r.alert) }, 'this replica now evaluates alerts');
    return true;
  }

  private async resign(): Promise<void> {
    const lock = this.lock;
    this.lock = null;
    this.forget();
    await lock?.release();
  }

  private forget(): void {
    this.states.clear();
    for (const r of this.opts.rules) metrics.alertsFiring.set({ alert: r.name }, 0);
  }

  private async evaluate(rule: AlertRule, now: number): Promise<void> {
    let result: Awaited<ReturnType<AlertRule['check']>>;
    try {
      result = await rule.check(now);
    } catch (err) {
      // A failing sample (database hiccup) keeps the current state rather than flapping it.
      this.opts.logger.warn({ alert: rule.name, err: (err as Error).message }, 'alert rule could not be evaluated');
      return;
    }
    const st = this.states.get(rule.name);
    const db = this.opts.database;
    if (result?.active) {
      if (!st) {
        this.states.set(rule.name, { phase: 'pending', activeSince: now, value: result.value });
      } else {
        st.value = result.value;
      }
      const cur = this.states.get(rule.name) as RuleState;
      if (cur.phase === 'pending' && now - cur.activeSince >= rule.forSeconds * 1000) {
        const { rows } = await db.query<{ id: number }>(
          `insert into alert_events (alert, state, value, threshold, summary, started_at)
           values ($1, 'firing', $2, $3, $4, $5) returning id`,
          [rule.name, cur.value, rule.threshold, rule.summary, new Date(cur.activeSince).toISOString()],
        );
        cur.phase = 'firing';
        cur.eventId = rows[0].id;
        this.opts.logger.warn({ alert: rule.name, value: cur.value, threshold: rule.threshold }, 'alert firing');
      } else if (cur.phase === 'firing' && cur.eventId !== undefined) {
        await db.query('update alert_events set value = $2 where id = $1', [cur.eventId, cur.value]);
      }
    } else if (st) {
      this.states.delete(rule.name);
      if (st.phase === 'firing' && st.eventId !== undefined) {
        await db.query(`update alert_events set state = 'resolved', resolved_at = $2 where id = $1`, [
          st.eventId,
          new Date(now).toISOString(),
        ]);
        this.opts.logger.info({ alert: rule.name, value: result?.value ?? 'no data' }, 'alert resolved');
      }
    }
    metrics.alertsFiring.set({ alert: rule.name }, this.states.get(rule.name)?.phase === 'firing' ? 1 : 0);
  }

  /** Firing alerts (from the database, so every replica answers alike) plus this leader's pending ones. */
  async firing(): Promise<AlertView[]> {
    const { rows } = await this.opts.database.query<EventRow>(
      `select id, alert, state, value, threshold, summary, started_at, resolved_at
         from alert_events where state = 'firing' order by started_at`,
    );
    const views = rows.map((r) => this.view(r));
    for (const [alert, st] of this.states) {
      if (st.phase !== 'pending') continue;
      const rule = this.opts.rules.find((r) => r.name === alert);
      views.push({
        alert,
        state: 'pending',
        value: st.value,
        threshold: rule?.threshold,
        summary: rule?.summary,
        startedAt: new Date(st.activeSince).toISOString(),
        runbook: runbookLink(alert, this.opts.runbookBase),
      });
    }
    return views;
  }

  /** The latest episodes, firing or resolved, newest first. */
  async recent(limit: number): Promise<AlertView[]> {
    const n = Math.max(1, Math.min(500, Math.floor(limit)));
    const { rows } = await this.opts.database.query<EventRow>(
      `select id, alert, state, value, threshold, summary, started_at, resolved_at
         from alert_events order by started_at desc, id desc limit ${n}`,
    );
    return rows.map((r) => this.view(r));
  }

  private view(r: EventRow): AlertView {
    return {
      alert: r.alert,
      state: r.state === 'resolved' ? 'resolved' : 'firing',
      value: r.value ?? undefined,
      threshold: r.threshold ?? undefined,
      summary: r.summary ?? undefined,
      startedAt: new Date(r.started_at).toISOString(),
      resolvedAt: r.resolved_at ? new Date(r.resolved_at).toISOString() : undefined,
      runbook: runbookLink(r.alert, this.opts.runbookBase),
    };
  }
}
