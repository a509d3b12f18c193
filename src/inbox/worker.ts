/**
 * The inbox worker service. `concurrency` claim loops (WORKER_CONCURRENCY) each claim a batch of
 * up to `claimBatch` ready conversations in one statement (see claim.ts: one turn each, never more
 * than the free turn slots) and start the turns without waiting for them: up to `maxTurns` turns
 * run at once per process, most of them waiting on the LLM (whose own limit, LLM_MAX_CONCURRENCY,
 * is the assistant's gate). A turn waiting on the LLM holds no connection; the database work of
 * claims and turns goes through the bounded pool share the caller passes. One heartbeat renews
 * every held lease in one statement. An idle loop sleeps until told there is work: on local
 * commits ('inbox.events') and on `notified()` (LISTEN wadi_inbox: work stored or put back by any
 * process); on a finished turn (a free slot); and at the time the last claim said the next waiting
 * conversation becomes claimable (its burst's debounce ends, its retry is due). One signal wakes
 * one loop, and a loop whose batch came back full wakes the next, so a single message costs one
 * claim, not one per loop. The poll is only a safety net (expired leases of crashed processes):
 * every `pollMs` while signals work (`setSignalled`), every `fallbackPollMs` while they do not. On
 * stop, turns in hand get a grace period to finish; then they are aborted and the handler hands
 * them back.
 */
import { randomBytes } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import type { Database, Queryable } from '../db/client.ts';
import { type BackoffPolicy, backoffDelay, QUERY_FAILURE_BACKOFF } from '../kernel/backoff.ts';
import type { Clock } from '../kernel/clock.ts';
import type { BackgroundService } from '../kernel/service.ts';
import { SafetyPoll } from '../kernel/wake.ts';
import { metrics } from '../observability/metrics/metrics.ts';
import { withStoredContext } from '../observability/tracing/context.ts';
import { type ClaimedTurn, claimTurns, leaseFor, pendingStats, renewLeases, type TurnLease } from './claim.ts';

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
  /** Claim loops (WORKER_CONCURRENCY). */
  readonly concurrency: number;
  /** Turns running at once in this process (default: `concurrency`). */
  readonly maxTurns?: number;
  /** Conversations one claim statement takes at most (default CLAIM_BATCH; never more than free slots). */
  readonly claimBatch?: number;
  /** Connection for the lease heartbeat, outside the turns' pool share (default: `database`). */
  readonly heartbeatDatabase?: Database;
  readonly leaseMs: number;
  readonly debounceMs: number;
  /** Safety-net poll while wake-up signals work (see setSignalled); the only poll without them. */
  readonly pollMs: number;
  /** Poll while signals are known not to work (default: min(pollMs, 500)). */
  readonly fallbackPollMs?: number;
  readonly maxAttempts: number;
  readonly retryBaseMs: number;
  /** How long stop() lets turns in hand finish before aborting them. */
  readonly graceMs: number;
  readonly events?: EventEmitter;
  /** Gauge refresh interval (0 = off). */
  readonly gaugeMs?: number;
  /** Time of lease and retry decisions; default: the database's clock (see claim.ts). */
  readonly clock?: Clock;
  /**
   * Called inside the transaction that dead-letters messages of `turn` (whichever path failed it),
   * so the user can be told in the same commit (conversation/dead-letter-notice.ts).
   */
  readonly onDead?: (tx: Queryable, turn: ClaimedTurn) => Promise<void>;
}

/** Retry policy of failed turns: INBOX_RETRY_BASE_MS doubling, ±20 % jitter, capped at 5 minutes. */
export function inboxRetryPolicy(baseMs: number): BackoffPolicy {
  return { baseMs, maxMs: 300_000, jitter: [0.8, 1.2] };
}

/** Backoff for a counted failure of a turn (see inboxRetryPolicy). */
export function retryDelay(baseMs: number, attempt: number): number {
  return backoffDelay(inboxRetryPolicy(baseMs), attempt);
}

/**
 * Conversations per claim statement by default: a 200-user burst is claimed in a handful of
 * statements, while one process still leaves ready work to the others' loops between its claims.
 */
export const CLAIM_BATCH = 32;

/** While idle, the pending gauges are read every this many gauge intervals. */
const IDLE_GAUGE_FACTOR = 6;

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
  private readonly turns = new Set<Promise<void>>();
  private slotWaiters: (() => void)[] = [];
  private timers: NodeJS.Timeout[] = [];
  private heartbeat: NodeJS.Timeout | undefined;
  private beating = false;
  private claiming = 0;
  /** Claim statements running now. */
  private claimsInFlight = 0;
  /** A signal or a claimed turn since the gauges were last read. */
  private activity = false;
  private readonly poll: SafetyPoll;
  /** The wake-up at the next waiting conversation's due time (see claim.ts's nextDueInMs). */
  private dueTimer: NodeJS.Timeout | undefined;
  private dueAt = Number.POSITIVE_INFINITY;
  private readonly onCommitted = () => this.notified();

  constructor(opts: InboxWorkerOptions) {
    this.o = opts;
    this.poll = new SafetyPoll(() => this.wake(), opts.pollMs, opts.fallbackPollMs ?? Math.min(opts.pollMs, 500));
  }

  /**
   * New or re-queued inbound work (a local commit, a NOTIFY): look now. A conversation whose
   * burst is not over yet is not claimable; the claim says when it will be, and a timer looks then.
   */
  notified(): void {
    this.activity = true;
    this.wake();
  }

  /** Looks again in `ms` (unless a look is due sooner already). */
  private wakeIn(ms: number): void {
    if (!this.running) return;
    const at = performance.now() + Math.max(ms, 0);
    if (this.dueTimer && this.dueAt <= at + 1) return;
    clearTimeout(this.dueTimer);
    this.dueAt = at;
    // A little past the due time: the database decides by its own clock.
    this.dueTimer = setTimeout(() => {
      this.dueTimer = undefined;
      this.dueAt = Number.POSITIVE_INFINITY;
      this.wake();
    }, Math.max(ms, 0) + 3);
    this.dueTimer.unref();
  }

  /**
   * Whether wake-up signals reach this worker (the LISTEN connection is up): the poll slows down
   * to a safety net. Becoming signalled again looks at once (signals may have been missed).
   */
  setSignalled(signalled: boolean): void {
    this.poll.setSignalled(signalled);
    if (signalled) this.wake();
  }

  /** Starts the loops. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.o.events?.on('committed', this.onCommitted);
    this.poll.start();
    const gaugeMs = this.o.gaugeMs ?? 5000;
    if (gaugeMs > 0) {
      // Idle (nothing pending at the last look, no signal since): the gauges cannot have moved,
      // so they are re-read only every IDLE_GAUGE_FACTOR ticks (a backlog left by another process
      // still shows within that time, and the safety-net poll claims it meanwhile).
      let lastPending = -1;
      let skipped = 0;
      const refresh = () => {
        if (lastPending === 0 && !this.activity && ++skipped < IDLE_GAUGE_FACTOR) return;
        skipped = 0;
        this.activity = false;
        pendingStats(this.o.database)
          .then((s) => {
            lastPending = s.pending;
            metrics.inboxPending.set(s.pending);
            metrics.inboxOldestPending.set(s.oldestSeconds);
          })
          .catch(() => {
            lastPending = -1;
          });
      };
      refresh();
      this.timers.push(setInterval(refresh, gaugeMs));
    }
    this.heartbeat = setInterval(() => void this.beat(), Math.max(Math.floor(this.o.leaseMs / 3), 200));
    for (let i = 0; i < this.o.concurrency; i++) this.loops.push(this.loop());
  }

  /** Turns running now (for tests and the admin view). */
  runningTurns(): number {
    return this.inFlight.size;
  }

  private get maxTurns(): number {
    return Math.max(this.o.maxTurns ?? this.o.concurrency, 1);
  }

  private get claimBatch(): number {
    return Math.max(this.o.claimBatch ?? CLAIM_BATCH, 1);
  }

  /**
   * Waits until a turn may start (turns running plus claims in progress below maxTurns), then
   * reserves as many slots as one claim may fill (up to claimBatch). The caller holds them until
   * unclaim(): the turns it spawned hold theirs from then on.
   */
  private async slots(): Promise<number> {
    while (this.running && this.inFlight.size + this.claiming >= this.maxTurns) {
      await new Promise<void>((resolve) => this.slotWaiters.push(resolve));
    }
    const n = Math.max(Math.min(this.claimBatch, this.maxTurns - this.inFlight.size - this.claiming), 1);
    this.claiming += n;
    return n;
  }

  /** Ends a reservation of `reserved` slots of which `used` became running turns. */
  private unclaim(reserved: number, used = 0): void {
    this.claiming -= reserved;
    for (let i = used; i < reserved; i++) this.freeSlot();
  }

  private freeSlot(): void {
    this.slotWaiters.shift()?.();
  }

  /** One statement renews the lease of every turn in hand; a lost lease aborts its turn. */
  private async beat(): Promise<void> {
    if (this.beating || this.inFlight.size === 0) return;
    this.beating = true;
    const held = [...this.inFlight.keys()];
    try {
      const kept = await renewLeases(this.o.heartbeatDatabase ?? this.o.database, held, this.o.leaseMs, this.o.clock);
      for (const turn of held) if (!kept.has(turn.token)) this.inFlight.get(turn)?.abort(new Error('lease lost'));
    } catch {
      // Database down: the next beat tries again; a lease that expires meanwhile is lost (fenced).
    } finally {
      this.beating = false;
    }
  }

  /**
   * Wakes one idle loop to look for work now (it wakes the next if it found some). While a claim
   * statement is in flight, or with no loop idle, the signal is remembered instead: the claiming
   * loop looks again when its claim ends (it may have missed the new work), so the turns that end
   * and the messages that arrive during one claim cost one more claim, not one each.
   */
  wake(): void {
    if (this.claimsInFlight > 0) {
      this.signalled = true;
      return;
    }
    const w = this.waiters.shift();
    if (w) w();
    else this.signalled = true;
  }

  private wakeAll(): void {
    this.signalled = true;
    for (const f of this.waiters.splice(0)) f();
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
      const reserved = await this.slots();
      if (!this.running) {
        this.unclaim(reserved);
        break;
      }
      let turns: ClaimedTurn[];
      let nextDueInMs: number | null;
      this.claimsInFlight++;
      try {
        ({ turns, nextDueInMs } = await claimTurns(this.o.database, {
          tokenPrefix: `${this.owner}-${++this.seq}`,
          limit: reserved,
          leaseMs: this.o.leaseMs,
          debounceMs: this.o.debounceMs,
          clock: this.o.clock,
        }));
        failures = 0;
      } catch (err) {
        // Database down: back off, the work stays in the table.
        failures++;
        this.o.logger.warn({ err: (err as Error).message }, 'inbox claim failed');
        this.unclaim(reserved);
        await new Promise((r) => setTimeout(r, backoffDelay(QUERY_FAILURE_BACKOFF, failures)));
        continue;
      } finally {
        this.claimsInFlight--;
      }
      if (nextDueInMs !== null) this.wakeIn(nextDueInMs);
      // The messages moved between the pick and the update (a concurrent replay): free the conversation.
      const empty = turns.filter((t) => t.messages.length === 0);
      const ready = turns.filter((t) => t.messages.length > 0);
      for (const turn of ready) this.spawn(turn);
      this.unclaim(reserved, ready.length);
      if (ready.length > 0) this.activity = true;
      if (empty.length > 0) {
        await Promise.all(
          empty.map((turn) => {
            const lease = this.leaseFor(turn);
            return this.o.database.transaction((tx) => lease.giveBack(tx)).catch(() => {});
          }),
        );
      }
      // A full batch: there may be more, the next idle loop looks while these turns start.
      if (turns.length === reserved) {
        this.wake();
        continue;
      }
      await this.idle();
    }
  }

  /** Starts the turn (run() registers it in inFlight synchronously; the caller ends its reservation). */
  private spawn(turn: ClaimedTurn): void {
    const p = this.run(turn).finally(() => {
      this.turns.delete(p);
      this.freeSlot();
      // Messages that arrived during the turn were not claimable then: look again.
      this.wake();
    });
    this.turns.add(p);
  }

  private leaseFor(turn: ClaimedTurn): TurnLease {
    let retryInMs = 0;
    const lease = leaseFor(turn, {
      maxAttempts: this.o.maxAttempts,
      retryDelay: (attempt) => {
        retryInMs = retryDelay(this.o.retryBaseMs, attempt);
        return retryInMs;
      },
      clock: this.o.clock,
    });
    // A handed-back turn is due again after its delay: this process looks then (others by NOTIFY
    // when it is put back, and by their safety-net poll).
    const lookAgain = (ms: number) => {
      if (this.running) setTimeout(() => this.wake(), ms + 5).unref();
    };
    const onDead = this.o.onDead;
    return {
      ...lease,
      postpone: async (tx, error, retryAfterMs) => {
        await lease.postpone(tx, error, retryAfterMs);
        lookAgain(Math.max(retryAfterMs ?? 0, retryInMs));
      },
      fail: async (tx, error) => {
        const dead = await lease.fail(tx, error);
        if (dead > 0 && onDead) await onDead(tx, turn);
        if (dead < turn.messages.length) lookAgain(retryInMs);
        return dead;
      },
    };
  }

  private async run(turn: ClaimedTurn): Promise<void> {
    const lease = this.leaseFor(turn);
    const ac = new AbortController();
    this.inFlight.set(turn, ac);
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
    this.poll.stop();
    clearTimeout(this.dueTimer);
    this.dueTimer = undefined;
    this.wakeAll();
    for (const w of this.slotWaiters.splice(0)) w();
    // Loops end at their next check; turns already started are waited for (they start no more).
    const all = Promise.all(this.loops).then(() => Promise.all([...this.turns]));
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<'timeout'>((r) => {
      timer = setTimeout(() => r('timeout'), this.o.graceMs);
    });
    if ((await Promise.race([all, grace])) === 'timeout') {
      for (const ac of this.inFlight.values()) ac.abort(new Error('shutting down'));
      await all;
    }
    clearTimeout(timer);
    clearInterval(this.heartbeat);
    this.heartbeat = undefined;
    this.loops = [];
  }
}
