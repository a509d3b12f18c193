/**
 * The periodic jobs of the human side: giving idle handoffs back to the bot
 * (HANDOFF_IDLE_MINUTES, every 30 s) and purging old message content (RETENTION_DAYS, hourly,
 * in batches until nothing is left). Both are idempotent statements, so every worker process
 * may run them; the second replica to get there finds nothing to do.
 */
import type { Logger } from 'pino';
import type { Database } from '../db/client.ts';
import { resumeIdleConversations } from '../db/conversation-states.ts';
import { type PurgeResult, purgeOldContent } from '../db/erasure.ts';
import { systemTimerClock, type TimerClock } from '../kernel/clock.ts';

/** Settings of the jobs. */
export interface PeopleSchedulesOptions {
  readonly database: Database;
  readonly logger: Logger;
  /** 0: never resume by itself. */
  readonly idleMinutes: number;
  /** 0: keep content forever. */
  readonly retentionDays: number;
  readonly idleEveryMs?: number;
  readonly purgeEveryMs?: number;
  /** Arms the timers and dates the retention cutoff; tests pass one they move by hand. */
  readonly clock?: TimerClock;
}

/** The background service. */
export class PeopleSchedules {
  readonly name = 'people-schedules';
  private readonly o: PeopleSchedulesOptions;
  private readonly clock: TimerClock;
  private timers = new Set<unknown>();
  private stopped = false;
  private running = new Set<Promise<void>>();

  constructor(opts: PeopleSchedulesOptions) {
    this.o = opts;
    this.clock = opts.clock ?? systemTimerClock;
  }

  start(): void {
    if (this.o.idleMinutes > 0) this.every(this.o.idleEveryMs ?? 30_000, () => this.resumeIdle());
    if (this.o.retentionDays > 0) this.every(this.o.purgeEveryMs ?? 3_600_000, () => this.purge());
  }

  /** Runs `job` now, then `ms` after each run finished (runs never overlap). */
  private every(ms: number, job: () => Promise<void>): void {
    const run = () => {
      const p = job().finally(() => {
        this.running.delete(p);
        if (this.stopped) return;
        const timer = this.clock.setTimeout(() => {
          this.timers.delete(timer);
          run();
        }, ms);
        this.timers.add(timer);
      });
      this.running.add(p);
    };
    run();
  }

  /** Resumes idle handoffs now; never throws. */
  async resumeIdle(): Promise<void> {
    try {
      const ids = await resumeIdleConversations(this.o.database, this.o.idleMinutes);
      if (ids.length > 0) {
        this.o.logger.info(
          { conversationIds: ids, idleMinutes: this.o.idleMinutes },
          'no operator activity: the bot answers these conversations again',
        );
      }
    } catch (err) {
      this.o.logger.warn({ err: (err as Error).message }, 'idle handoff check failed');
    }
  }

  /** Purges content older than RETENTION_DAYS now, batch after batch; never throws. */
  async purge(): Promise<void> {
    const total: PurgeResult = { inbound: 0, outbound: 0, history: 0, toolCalls: 0, unstorable: 0 };
    const sum = (r: PurgeResult) => r.inbound + r.outbound + r.history + r.toolCalls + r.unstorable;
    try {
      const now = new Date(this.clock.now());
      for (let i = 0; i < 1000; i++) {
        const r = await purgeOldContent(this.o.database, this.o.retentionDays, 5000, now);
        for (const k of Object.keys(total) as (keyof PurgeResult)[]) total[k] += r[k];
        if (sum(r) === 0) break;
      }
      if (sum(total) > 0) {
        this.o.logger.info({ ...total, retentionDays: this.o.retentionDays }, 'old message content purged');
      }
    } catch (err) {
      this.o.logger.warn({ err: (err as Error).message, ...total }, 'retention purge failed; will retry');
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) this.clock.clearTimeout(t);
    this.timers.clear();
    await Promise.allSettled([...this.running]);
  }
}
