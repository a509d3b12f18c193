/**
 * The periodic jobs of the human side: giving idle handoffs back to the bot
 * (HANDOFF_IDLE_MINUTES, every 30 s) and purging old message content (RETENTION_DAYS, hourly,
 * in batches until nothing is left). Both are idempotent statements, so every worker process
 * may run them; the second replica to get there finds nothing to do.
 */
import type { Logger } from 'pino';
import type { Database } from '../db/client.ts';
import { resumeIdleConversations } from '../db/conversation-states.ts';
import { purgeOldContent } from '../db/erasure.ts';

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
}

/** The background service. */
export class PeopleSchedules {
  readonly name = 'people-schedules';
  private readonly o: PeopleSchedulesOptions;
  private timers: NodeJS.Timeout[] = [];
  private running = new Set<Promise<void>>();

  constructor(opts: PeopleSchedulesOptions) {
    this.o = opts;
  }

  start(): void {
    if (this.o.idleMinutes > 0) this.every(this.o.idleEveryMs ?? 30_000, () => this.resumeIdle());
    if (this.o.retentionDays > 0) this.every(this.o.purgeEveryMs ?? 3_600_000, () => this.purge());
  }

  private every(ms: number, job: () => Promise<void>): void {
    let busy = false;
    const run = () => {
      if (busy) return;
      busy = true;
      const p = job().finally(() => {
        busy = false;
        this.running.delete(p);
      });
      this.running.add(p);
    };
    const timer = setInterval(run, ms);
    timer.unref();
    this.timers.push(timer);
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
    const total = { inbound: 0, outbound: 0, history: 0 };
    try {
      for (let i = 0; i < 1000; i++) {
        const r = await purgeOldContent(this.o.database, this.o.retentionDays);
        total.inbound += r.inbound;
        total.outbound += r.outbound;
        total.history += r.history;
        if (r.inbound + r.outbound + r.history === 0) break;
      }
      if (total.inbound + total.outbound + total.history > 0) {
        this.o.logger.info({ ...total, retentionDays: this.o.retentionDays }, 'old message content purged');
      }
    } catch (err) {
      this.o.logger.warn({ err: (err as Error).message, ...total }, 'retention purge failed; will retry');
    }
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    await Promise.allSettled([...this.running]);
  }
}
