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

/** One rule as last evaluated by the leader: what it saw and where it stands. */
export interface RuleView {
  readonly alert: string;
  /** ok: condition false; pending: true but not for long enough; firing; no_data: its feature is absent here. */
  readonly state: 'ok' | 'pending' | 'firing' | 'no_data';
  readonly value?: string;
  readonly threshold: string;
  readonly summary: string;
  readonly forSeconds: number;
  /** Since when the condition holds (pending, firing). */
  readonly since?: string;
  readonly runbook: string;
}

/** The last evaluation round, as every replica reads it. */
export interface RulesSnapshot {
  /** When the leader last evaluated; undefined when no leader has evaluated yet. */
  readonly evaluatedAt?: string;
  readonly rules: RuleView[];
}

/** Alert state for /admin/alerts (the port admin uses). */
export interface AlertsProvider {
  /** Alerts firing now (from alert_events). */
  firing(): Promise<AlertView[]>;
  /** Alerts whose condition holds but not yet for their `for` (from the last round). */
  pending(): Promise<AlertView[]>;
  /** Every rule with its current value and state. */
  rules(): Promise<RulesSnapshot>;
  /** The latest episodes, firing or resolved, newest first. */
  recent(limit: number): Promise<AlertView[]>;
  /** Names of the configured alert destinations ("telegram", "slack"); empty: alerts reach nobody. */
  destinations(): string[];
}

/** The kv key the leader writes each round's rule states under. */
export const KV_ALERT_RULES = 'alerts:rules';

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
      const views: RuleView[] = [];
      for (const rule of this.opts.rules) views.push(await this.evaluate(rule, now));
      await this.publish(now, views);
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

  /** Writes this round's rule states where every replica reads them (one kv row). */
  private async publish(now: number, rules: RuleView[]): Promise<void> {
    const snapshot: RulesSnapshot = { evaluatedAt: new Date(now).toISOString(), rules };
    await this.opts.database.query(
      `insert into kv (key, value, updated_at) values ($1, $2::jsonb, now())
       on conflict (key) do update set value = excluded.value, updated_at = excluded.updated_at`,
      [KV_ALERT_RULES, JSON.stringify(snapshot)],
    );
  }

  private ruleView(rule: AlertRule, state: RuleView['state'], value?: string, since?: number): RuleView {
    return {
      alert: rule.name,
      state,
      value,
      threshold: rule.threshold,
      summary: rule.summary,
      forSeconds: rule.forSeconds,
      since: since === undefined ? undefined : new Date(since).toISOString(),
      runbook: runbookLink(rule.name, this.opts.runbookBase),
    };
  }

  private async evaluate(rule: AlertRule, now: number): Promise<RuleView> {
    let result: Awaited<ReturnType<AlertRule['check']>>;
    try {
      result = await rule.check(now);
    } catch (err) {
      // A failing sample (database hiccup) keeps the current state rather than flapping it.
      this.opts.logger.warn({ alert: rule.name, err: (err as Error).message }, 'alert rule could not be evaluated');
      const st = this.states.get(rule.name);
      return st
        ? this.ruleView(rule, st.phase, st.value, st.activeSince)
        : this.ruleView(rule, 'no_data', 'could not be evaluated');
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
    const after = this.states.get(rule.name);
    metrics.alertsFiring.set({ alert: rule.name }, after?.phase === 'firing' ? 1 : 0);
    if (after) return this.ruleView(rule, after.phase, after.value, after.activeSince);
    return result ? this.ruleView(rule, 'ok', result.value) : this.ruleView(rule, 'no_data');
  }

  /** Firing alerts, from the database, so every replica answers alike. */
  async firing(): Promise<AlertView[]> {
    const { rows } = await this.opts.database.query<EventRow>(
      `select id, alert, state, value, threshold, summary, started_at, resolved_at
         from alert_events where state = 'firing' order by started_at`,
    );
    return rows.map((r) => this.view(r));
  }

  /** Pending alerts of the leader's last round (read from the database, so every replica answers alike). */
  async pending(): Promise<AlertView[]> {
    const snapshot = await this.rules();
    return snapshot.rules
      .filter((r) => r.state === 'pending')
      .map((r) => ({
        alert: r.alert,
        state: 'pending' as const,
        value: r.value,
        threshold: r.threshold,
        summary: r.summary,
        startedAt: r.since ?? snapshot.evaluatedAt ?? new Date(this.clock.now()).toISOString(),
        runbook: r.runbook,
      }));
  }

  /**
   * Every rule with the leader's last reading. Rules the snapshot does not know (no leader has
   * evaluated yet, or the leader runs an older version) are listed without a value.
   */
  async rules(): Promise<RulesSnapshot> {
    const { rows } = await this.opts.database.query<{ value: RulesSnapshot }>('select value from kv where key = $1', [
      KV_ALERT_RULES,
    ]);
    const stored = rows[0]?.value;
    const byName = new Map((stored?.rules ?? []).map((r) => [r.alert, r]));
    return {
      evaluatedAt: stored?.evaluatedAt,
      rules: this.opts.rules.map((rule) => {
        const seen = byName.get(rule.name);
        return seen
          ? { ...seen, runbook: runbookLink(rule.name, this.opts.runbookBase) }
          : this.ruleView(rule, 'no_data');
      }),
    };
  }

  destinations(): string[] {
    return this.opts.notifiers.map((n) => n.name);
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
