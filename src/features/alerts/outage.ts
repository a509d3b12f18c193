/**
 * Alerting while the database itself is unreachable. Normal alerting needs PostgreSQL (the leader
 * lock, the `alert_events` history), so a database outage would silence the one alert that
 * matters. When a replica cannot even ask for the lock for ALERT_HEALTH_FAILING_SECONDS, it sends
 * ServiceNotReady straight to the notifiers from memory, and a resolution once the database
 * answers again. Without the lock there is no coordination: every replica that sees the outage
 * may send it, which is the right trade during an outage.
 */
import os from 'node:os';
import type { Logger } from 'pino';
import { type Notifier, PendingNotifications, runbookLink } from './notifiers.ts';

const ALERT = 'ServiceNotReady';

/** Tracks a database outage seen by the evaluator and notifies about it directly. */
export class DatabaseOutage {
  private since: number | undefined;
  private lastError = '';
  private announced = false;
  private readonly pending: PendingNotifications;
  private readonly opts: {
    notifiers: readonly Notifier[];
    logger: Logger;
    forSeconds: number;
    runbookBase?: string;
  };

  constructor(opts: DatabaseOutage['opts']) {
    this.opts = opts;
    this.pending = new PendingNotifications(opts.notifiers);
  }

  /** The database could not be reached at `now`. */
  async failed(now: number, err: Error): Promise<void> {
    this.since ??= now;
    this.lastError = err.message;
    if (!this.announced && now - this.since >= this.opts.forSeconds * 1000) {
      this.announced = true;
      this.opts.logger.error({ err: err.message }, 'database unreachable: notifying without coordination');
      this.enqueue('firing', now);
    }
    await this.flush();
  }

  /** The database answered at `now`. */
  async recovered(now: number): Promise<void> {
    if (this.since !== undefined && this.announced) this.enqueue('resolved', now);
    this.since = undefined;
    this.announced = false;
    await this.flush();
  }

  private enqueue(kind: 'firing' | 'resolved', now: number): void {
    this.pending.push({
      alert: ALERT,
      kind,
      value: `database unreachable (${this.lastError.slice(0, 120)})`,
      threshold: `database unreachable for ${this.opts.forSeconds} s`,
      summary: 'WADI cannot reach its database: nothing can be stored or answered.',
      startedAt: new Date(this.since ?? now),
      resolvedAt: kind === 'resolved' ? new Date(now) : undefined,
      runbook: runbookLink(ALERT, this.opts.runbookBase),
      source: os.hostname(),
    });
  }

  private flush(): Promise<void> {
    return this.pending.flush((notifier, err) =>
      this.opts.logger.warn({ notifier, err: err.message }, 'outage notification failed; will retry'),
    );
  }
}
