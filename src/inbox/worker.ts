/**
 * The inbox worker service: WORKER_CONCURRENCY loops, each claiming one conversation's turn at a
 * time (see claim.ts) and handing it to the turn handler while a heartbeat keeps the lease. Loops
 * wake on local commits ('inbox.events'), after the coalescing debounce, and on a poll interval
 * (work stored by other processes). On stop, turns in hand get a grace period to finish; then
 * they are aborted and the handler hands them back.
 */
import { randomBytes } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { Database } from '../db/client.ts';
import { type BackoffPolicy, backoffDelay, QUERY_FAILURE_BACKOFF } from '../kernel/backoff.ts';
import type { Clock } from '../kernel/clock.ts';
import type { BackgroundService } from '../kernel/service.ts';
import { metrics } from '../observability/metrics/metrics.ts';
import { withStoredContext } from '../observability/tracing/context.ts';
import { type ClaimedTurn, claimTurn, leaseFor, pendingStats, renewLease, type TurnLease } from './claim.ts';

/**
 * Runs one claimed turn; must settle it through `lease` (the worker releases it if the handler
 * throws). The lease is the only way a turn changes its inbox rows.
 */
export type TurnHandler = (turn: ClaimedTurn, signal: AbortSignal, lease: TurnLease) => Promise<void>;

/** Worker settings. */
export interface InboxWorkerOptions {
  readonly database: Database;
  readonly logger: Logger;
  readonly handle: TurnHandler;
  readonly concurrency: number;
  readonly leaseMs: number;
  readonly debounceMs: number;
  readonly pollMs: number;
  readonly maxAttempts: number;
  readonly retryBaseMs: number;
  /** How long stop() lets turns in hand finish before aborting them. */
  readonly graceMs: number;
  readonly events?: EventEmitter;
  /** Gauge refresh interval (0 = off). */
  readonly gaugeMs?: number;
  /** Time of lease and retry decisions; default: the database's clock (see claim.ts). */
  readonly clock?: Clock;
}

/** Retry policy of failed turns: INBOX_RETRY_BASE_MS doubling, ±20 % jitter, capped at 5 minutes. */
export function inboxRetryPolicy(baseMs: number): BackoffPolicy {
  return { baseMs, maxMs: 300_000, jitter: [0.8, 1.2] };
}

/** Backoff for a counted failure of a turn (see inboxRetryPolicy). */
export function retryDelay(baseMs: number, attempt: number): number {
  return backoffDelay(inboxRetryPolicy(baseMs), attempt);
}

/** The service. */
export class InboxWorker implements BackgroundService {
  readonly name = 'inbox-worker';
  private readonly o: InboxWorkerOptions;
  private readonly owner = `${process.pid}-${randomBytes(4).toString('hex')}`;
  private seq = 0;
  private running = false;
  private loops: Promise<void>[] = [];
  private waiters: (() => void)[] = [];
  private signalled = false;
  private readonly inFlight = new Map<ClaimedTurn, AbortController>();
  private timers: NodeJS.Timeout[] = [];
  private readonly onCommitted = () => {
    this.wake();
    if (this.o.debounceMs > 0) setTimeout(() => this.wake(), this.o.debounceMs + 5).unref();
  };

  constructor(opts: InboxWorkerOptions) {
    this.o = opts;
  }

  /** Starts the loops. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.o.events?.on('committed', this.onCommitted);
    this.timers.push(setInterval(() => this.wake(), this.o.pollMs));
    if ((this.o.gaugeMs ?? 5000) > 0) {
      const refresh = () =>
        pendingStats(this.o.database)
          .then((s) => {
            metrics.inboxPending.set(s.pending);
            metrics.inboxOldestPending.set(s.oldestSeconds);
          })
          .catch(() => {});
      void refresh();
      this.timers.push(setInterval(refresh, this.o.gaugeMs ?? 5000));
    }
    for (let i = 0; i < this.o.concurrency; i++) this.loops.push(this.loop());
  }

  /** Wakes idle loops to look for work now. */
  wake(): void {
    // Remembered for loops that are busy claiming now: their claim may have missed the new work.
    this.signalled = true;
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  private idle(): Promise<void> {
    // stop() may have run while this loop was claiming: never wait once stopped.
    if (!this.running) return Promise.resolve();
    if (this.signalled) {
      this.signalled = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private async loop(): Promise<void> {
    let failures = 0;
    while (this.running) {
      let turn: ClaimedTurn | null = null;
      try {
        turn = await claimTurn(this.o.database, {
          token: `${this.owner}-${++this.seq}`,
          leaseMs: this.o.leaseMs,
          debounceMs: this.o.debounceMs,
          clock: this.o.clock,
        });
        failures = 0;
      } catch (err) {
        // Database down: back off, the work stays in the table.
        failures++;
        this.o.logger.warn({ err: (err as Error).message }, 'inbox claim failed');
        await new Promise((r) => setTimeout(r, backoffDelay(QUERY_FAILURE_BACKOFF, failures)));
        continue;
      }
      if (!turn) {
        await this.idle();
        continue;
      }
      if (turn.messages.length === 0) {
        // The messages moved between the pick and the update (a concurrent replay): free the conversation.
        const lease = this.leaseFor(turn);
        await this.o.database.transaction((tx) => lease.giveBack(tx)).catch(() => {});
        continue;
      }
      await this.run(turn);
    }
  }

  private leaseFor(turn: ClaimedTurn): TurnLease {
    return leaseFor(turn, {
      maxAttempts: this.o.maxAttempts,
      retryDelay: (attempt) => retryDelay(this.o.retryBaseMs, attempt),
      clock: this.o.clock,
    });
  }

  private async run(turn: ClaimedTurn): Promise<void> {
    const lease = this.leaseFor(turn);
    const ac = new AbortController();
    this.inFlight.set(turn, ac);
    const heartbeat = setInterval(
      () => {
        renewLease(this.o.database, turn, this.o.leaseMs, this.o.clock)
          .then((ok) => {
            if (!ok) ac.abort(new Error('lease lost'));
          })
          .catch(() => {});
      },
      Math.max(Math.floor(this.o.leaseMs / 3), 200),
    );
    try {
      // Continue the trace of the webhook that stored the first message (possibly another process).
      await withStoredContext(turn.messages[0]?.traceContext, () => this.o.handle(turn, ac.signal, lease));
    } catch (err) {
      this.o.logger.error({ err, conversationId: turn.conversation.id }, 'turn failed unexpectedly');
      await this.o.database
        .transaction((tx) => lease.fail(tx, (err as Error).message))
        .catch((e) =>
          this.o.logger.warn({ err: (e as Error).message }, 'could not release turn; its lease will expire'),
        );
    } finally {
      clearInterval(heartbeat);
      this.inFlight.delete(turn);
    }
  }

  /** Stops claiming; lets turns in hand finish within the grace period, then aborts them. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.o.events?.off('committed', this.onCommitted);
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    this.wake();
    const all = Promise.all(this.loops);
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<'timeout'>((r) => {
      timer = setTimeout(() => r('timeout'), this.o.graceMs);
    });
    if ((await Promise.race([all, grace])) === 'timeout') {
      for (const ac of this.inFlight.values()) ac.abort(new Error('shutting down'));
      await all;
    }
    clearTimeout(timer);
    this.loops = [];
  }
}
