/**
 * Delivers alert notifications from the `alert_events` table, so a notification that could not be
 * sent is not lost: a firing row is due when never notified or last notified a repeat interval ago;
 * a resolved row is due until notified after its resolution. Each notifier is retried with
 * exponential backoff on its own, so one that works is not spammed while another is down.
 */
import type { Logger } from 'pino';
import type { Database } from '../../db/client.ts';
import { backoffDelay } from '../../kernel/backoff.ts';
import type { Notification, Notifier } from './notifiers.ts';
import { runbookLink } from './notifiers.ts';

// Backoff between attempts: 10 s doubling to 5 min.
const FIRST_RETRY_MS = 10_000;
const MAX_RETRY_MS = 300_000;
// A resolution nobody could be told about for a day is history, not news.
const RESOLVED_GIVE_UP_MS = 24 * 3600_000;

/** One `alert_events` row as read by the engine and the delivery. */
export interface AlertEventRow {
  id: number;
  alert: string;
  state: string;
  value: string | null;
  threshold: string | null;
  summary: string | null;
  started_at: Date | string;
  resolved_at: Date | string | null;
}

type DueRow = AlertEventRow & { last_notified_at: Date | string | null };

interface Progress {
  done: Set<string>;
  failures: number;
  nextAt: number;
}

/** Sends what is due; one instance lives in the leader. */
export class AlertDelivery {
  private readonly progress = new Map<string, Progress>();
  private readonly database: Database;
  private readonly notifiers: readonly Notifier[];
  private readonly logger: Logger;
  private readonly repeatMs: number;
  private readonly runbookBase?: string;

  constructor(opts: {
    database: Database;
    notifiers: readonly Notifier[];
    logger: Logger;
    repeatSeconds: number;
    runbookBase?: string;
  }) {
    this.database = opts.database;
    this.notifiers = opts.notifiers;
    this.logger = opts.logger;
    this.repeatMs = opts.repeatSeconds * 1000;
    this.runbookBase = opts.runbookBase;
  }

  /** Sends every due notification; never throws. */
  async deliver(now: number): Promise<void> {
    if (this.notifiers.length === 0) return;
    const { rows } = await this.database.query<DueRow>(
      `select id, alert, state, value, threshold, summary, started_at, resolved_at, last_notified_at
         from alert_events
        where (state = 'firing' and (last_notified_at is null or last_notified_at <= $1))
           or (state = 'resolved' and resolved_at >= $2 and (last_notified_at is null or last_notified_at < resolved_at))
        order by id`,
      [new Date(now - this.repeatMs).toISOString(), new Date(now - RESOLVED_GIVE_UP_MS).toISOString()],
    );
    const live = new Set<string>();
    for (const row of rows) {
      const kind = row.state === 'resolved' ? 'resolved' : row.last_notified_at ? 'repeat' : 'firing';
      const key = `${row.id}:${kind}:${row.last_notified_at ? new Date(row.last_notified_at).getTime() : 0}`;
      live.add(key);
      let p = this.progress.get(key);
      if (!p) {
        p = { done: new Set(), failures: 0, nextAt: 0 };
        this.progress.set(key, p);
      }
      if (now < p.nextAt) continue;
      const n: Notification = {
        alert: row.alert,
        kind,
        value: row.value ?? undefined,
        threshold: row.threshold ?? undefined,
        summary: row.summary ?? undefined,
        startedAt: new Date(row.started_at),
        resolvedAt: row.resolved_at ? new Date(row.resolved_at) : undefined,
        runbook: runbookLink(row.alert, this.runbookBase),
      };
      let failed = 0;
      for (const notifier of this.notifiers) {
        if (p.done.has(notifier.name)) continue;
        try {
          await notifier.send(n);
          p.done.add(notifier.name);
        } catch (err) {
          failed++;
          this.logger.warn(
            { alert: row.alert, kind, notifier: notifier.name, err: (err as Error).message, attempt: p.failures + 1 },
            'alert notification failed; will retry',
          );
        }
      }
      if (failed > 0) {
        p.failures++;
        p.nextAt = now + backoffDelay({ baseMs: FIRST_RETRY_MS, maxMs: MAX_RETRY_MS, jitter: [1, 1] }, p.failures);
        await this.database
          .query('update alert_events set notify_errors = notify_errors + $2 where id = $1', [row.id, failed])
          .catch(() => {});
        continue;
      }
      await this.database.query('update alert_events set last_notified_at = $2 where id = $1', [
        row.id,
        new Date(now).toISOString(),
      ]);
      this.progress.delete(key);
      this.logger.info(
        { alert: row.alert, kind, notifiers: this.notifiers.map((x) => x.name) },
        'alert notification sent',
      );
    }
    // Rows no longer due (resolved meanwhile, notified by a previous leader) leave no state behind.
    for (const key of this.progress.keys()) if (!live.has(key)) this.progress.delete(key);
  }
}
