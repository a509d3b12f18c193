/**
 * Scheduled backups (BACKUP_SCHEDULE, cron in UTC). Every replica arms the same schedule; at each
 * slot the one that takes the advisory lock is the leader and backs up, the others skip. Inside
 * the lock the leader also skips a slot that another replica already covered (its recorded
 * success is newer than the slot), so clock skew between replicas cannot produce two dumps.
 */
import { Cron } from 'croner';
import type { Logger } from 'pino';
import type { Database } from '../../db/client.ts';
import { systemTimerClock, type TimerClock } from '../../kernel/clock.ts';
import type { BackgroundService } from '../../kernel/service.ts';
import { metrics } from '../../observability/metrics/metrics.ts';
import type { BackupResult } from './backup.ts';
import { BackupError } from './errors.ts';
import { lastBackupSuccess } from './last-success.ts';
import { pruneBackups } from './retention.ts';

/** Advisory lock key of the backup leader ("WADIBKUP" folded into 32 bits). */
export const BACKUP_LOCK_KEY = 0x57424b50;

/** How one slot ended. */
export type SlotOutcome = 'backed_up' | 'not_leader' | 'already_done' | 'failed';

/** What the scheduler needs. */
export interface BackupSchedulerOptions {
  /** Cron expression, or undefined to only keep the last-success gauge up to date. */
  readonly schedule?: string;
  readonly database: Database;
  readonly runBackup: () => Promise<BackupResult>;
  readonly dir: string;
  readonly retentionDays: number;
  readonly logger: Logger;
  /** Time source and timers (kernel/clock.ts), so tests drive the schedule with a hand-moved clock. */
  readonly clock?: TimerClock;
  /** How often every replica refreshes the gauge from the database (ms). */
  readonly gaugeRefreshMs?: number;
}

// setTimeout's limit: longer waits are re-armed in steps.
const MAX_TIMER_MS = 2 ** 31 - 1;

/** The backup schedule as a background service. */
export class BackupScheduler implements BackgroundService {
  readonly name = 'backup-scheduler';
  private readonly opts: BackupSchedulerOptions;
  private readonly clock: TimerClock;
  private readonly cron?: Cron;
  private timer: unknown;
  private gaugeTimer: unknown;
  private running: Promise<SlotOutcome> | undefined;
  private stopped = true;

  constructor(opts: BackupSchedulerOptions) {
    this.opts = opts;
    this.clock = opts.clock ?? systemTimerClock;
    if (opts.schedule) {
      try {
        this.cron = new Cron(opts.schedule, { paused: true, timezone: 'UTC' });
      } catch (err) {
        throw new BackupError('bad_schedule', `BACKUP_SCHEDULE "${opts.schedule}": ${(err as Error).message}`);
      }
    }
  }

  /** The next slot after now, if scheduled. */
  nextSlot(): Date | undefined {
    return this.cron?.nextRun(new Date(this.clock.now())) ?? undefined;
  }

  start(): void {
    this.stopped = false;
    void this.refreshGauge();
    this.armGauge();
    this.arm();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.clock.clearTimeout(this.timer);
    this.clock.clearTimeout(this.gaugeTimer);
    await this.running?.catch(() => {});
  }

  /** Resolves when the slot in progress (if any) has finished. */
  async idle(): Promise<void> {
    await this.running?.catch(() => {});
  }

  /** Runs the slot due at `slot`: backs up if this replica is the leader and nobody covered it yet. */
  async runSlot(slot: Date): Promise<SlotOutcome> {
    const lock = await this.opts.database.tryAdvisoryLock(BACKUP_LOCK_KEY).catch((err: Error) => {
      this.opts.logger.warn({ err: err.message }, 'backup: cannot take the leader lock');
      return null;
    });
    if (!lock) {
      this.opts.logger.debug({ slot }, 'backup: another replica is the leader for this slot');
      await this.refreshGauge();
      return 'not_leader';
    }
    try {
      const last = await lastBackupSuccess(this.opts.database);
      if (last && new Date(last.at).getTime() >= slot.getTime()) {
        this.setGauge(last.at);
        return 'already_done';
      }
      const result = await this.opts.runBackup();
      this.setGauge(result.manifest.createdAt);
      this.opts.logger.info(
        { file: result.file, bytes: result.manifest.bytes, durationMs: result.manifest.durationMs },
        'backup: finished',
      );
      // The backup stands even if pruning fails (e.g. a file someone made read-only).
      await pruneBackups(this.opts.dir, this.opts.retentionDays, new Date(this.clock.now())).then(
        (removed) => removed.length > 0 && this.opts.logger.info({ removed }, 'backup: pruned expired files'),
        (err: Error) => this.opts.logger.warn({ err: err.message }, 'backup: pruning failed'),
      );
      return 'backed_up';
    } catch (err) {
      const code = err instanceof BackupError ? err.code : 'unexpected';
      this.opts.logger.error({ code, err: (err as Error).message }, 'backup: failed');
      return 'failed';
    } finally {
      await lock.release();
    }
  }

  private arm(): void {
    if (this.stopped || !this.cron) return;
    const slot = this.nextSlot();
    if (!slot) return;
    const wait = slot.getTime() - this.clock.now();
    this.timer = this.clock.setTimeout(
      () => {
        if (this.stopped) return;
        if (this.clock.now() < slot.getTime()) {
          this.arm(); // a long wait re-armed in steps
          return;
        }
        this.running = this.runSlot(slot);
        void this.running.finally(() => this.arm());
      },
      Math.max(0, Math.min(wait, MAX_TIMER_MS)),
    );
  }

  private armGauge(): void {
    if (this.stopped) return;
    this.gaugeTimer = this.clock.setTimeout(() => {
      void this.refreshGauge().finally(() => this.armGauge());
    }, this.opts.gaugeRefreshMs ?? 60_000);
  }

  /** Every replica reports the last success recorded by any of them (or by `wadi backup`). */
  private async refreshGauge(): Promise<void> {
    try {
      const last = await lastBackupSuccess(this.opts.database);
      if (last) this.setGauge(last.at);
    } catch (err) {
      this.opts.logger.debug({ err: (err as Error).message }, 'backup: cannot read the last success');
    }
  }

  private setGauge(at: string): void {
    metrics.backupLastSuccess.set(Math.floor(new Date(at).getTime() / 1000));
  }
}
