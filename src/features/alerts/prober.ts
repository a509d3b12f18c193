/**
 * The external prober behind `wadi watch`: WADI cannot report its own death, so another machine
 * polls `<url>/health/ready` and notifies through the same Telegram/Slack notifiers when it has
 * not answered 200 for `forSeconds`, again every `repeatSeconds`, and once it recovers. A
 * notification that fails is kept and retried on the next polls.
 */
import os from 'node:os';
import { type Clock, systemClock } from '../../kernel/clock.ts';
import { type Notification, type Notifier, PendingNotifications, runbookLink } from './notifiers.ts';

/** The alert the prober raises (its runbook section is shared with the built-in rule). */
export const PROBE_ALERT = 'ServiceNotReady';

/** What the prober needs. */
export interface ProberOptions {
  /** WADI's base URL; `/health/ready` is appended. */
  readonly url: string;
  readonly forSeconds: number;
  readonly repeatSeconds: number;
  readonly notifiers: readonly Notifier[];
  readonly timeoutMs?: number;
  /** Decision time (kernel/clock.ts); tests move it by hand. */
  readonly clock?: Clock;
  readonly runbookBase?: string;
  /** One human line per event (state change, notification problem). */
  readonly log: (line: string) => void;
}

/** Polls readiness and raises/resolves the alert; call `poll()` on an interval. */
export class Prober {
  private readonly opts: ProberOptions;
  private readonly clock: Clock;
  private readonly readyUrl: string;
  private failingSince: number | undefined;
  private lastProblem = '';
  private firing: { startedAt: number; lastNotifiedAt: number } | undefined;
  private readonly pending: PendingNotifications;

  constructor(opts: ProberOptions) {
    this.opts = opts;
    this.clock = opts.clock ?? systemClock;
    this.readyUrl = `${opts.url.replace(/\/+$/, '')}/health/ready`;
    this.pending = new PendingNotifications(opts.notifiers);
  }

  /** True while the alert is firing. */
  get isFiring(): boolean {
    return this.firing !== undefined;
  }

  /** One probe, state update and delivery round; never throws. */
  async poll(): Promise<void> {
    const problem = await this.probe();
    const now = this.clock.now();
    if (problem) {
      if (this.failingSince === undefined) {
        this.failingSince = now;
        this.opts.log(`${this.readyUrl} failing: ${problem}`);
      }
      this.lastProblem = problem;
      const failingMs = now - this.failingSince;
      if (!this.firing && failingMs >= this.opts.forSeconds * 1000) {
        this.firing = { startedAt: this.failingSince, lastNotifiedAt: now };
        this.enqueue('firing', now);
        this.opts.log(`FIRING ${PROBE_ALERT}: ${this.readyUrl} not ready for ${Math.round(failingMs / 1000)} s`);
      } else if (this.firing && now - this.firing.lastNotifiedAt >= this.opts.repeatSeconds * 1000) {
        this.firing.lastNotifiedAt = now;
        this.enqueue('repeat', now);
      }
    } else if (this.failingSince !== undefined) {
      if (this.firing) {
        this.enqueue('resolved', now);
        this.opts.log(`RESOLVED ${PROBE_ALERT}: ${this.readyUrl} is ready again`);
      } else {
        this.opts.log(`${this.readyUrl} ready again`);
      }
      this.failingSince = undefined;
      this.firing = undefined;
    }
    await this.deliver();
  }

  /** Tries once more to send what is still pending (used at shutdown). */
  deliver(): Promise<void> {
    return this.pending.flush((notifier, err) => this.opts.log(`${notifier}: ${err.message}; will retry`));
  }

  /** Notifications not yet accepted by every notifier. */
  get undelivered(): number {
    return this.pending.size;
  }

  private enqueue(kind: Notification['kind'], now: number): void {
    const startedAt = new Date(this.firing?.startedAt ?? this.failingSince ?? now);
    this.pending.push({
      alert: PROBE_ALERT,
      kind,
      value: this.lastProblem,
      threshold: `/health/ready not 200 for ${this.opts.forSeconds} s`,
      summary: `External probe: ${this.readyUrl} is not ready.`,
      startedAt,
      resolvedAt: kind === 'resolved' ? new Date(now) : undefined,
      runbook: runbookLink(PROBE_ALERT, this.opts.runbookBase),
      source: `wadi watch on ${os.hostname()}`,
    });
  }

  /** undefined when ready; otherwise what went wrong, without any URL credentials. */
  private async probe(): Promise<string | undefined> {
    try {
      const res = await fetch(this.readyUrl, { signal: AbortSignal.timeout(this.opts.timeoutMs ?? 5000) });
      await res.body?.cancel().catch(() => {});
      return res.status === 200 ? undefined : `HTTP ${res.status}`;
    } catch (err) {
      const e = err as Error & { cause?: { code?: string } };
      return e.name === 'TimeoutError' ? 'timeout' : (e.cause?.code ?? e.name);
    }
  }
}
