/**
 * Keeps the knowledge in step with KNOWLEDGE_DIR inside a running WADI: one sync when the process
 * starts (in the background: start-up does not wait for a big folder) and one per
 * KNOWLEDGE_SYNC_SCHEDULE slot (cron, UTC). Overlapping runs are skipped, replicas serialise on
 * the sync's advisory lock, and unchanged files cost one hash each.
 */
import { Cron } from 'croner';
import type { Logger } from 'pino';
import type { BackgroundService } from '../kernel/service.ts';
import { formatProgress, type SyncOptions, type SyncSummary, syncKnowledge } from './sync.ts';

/** What the scheduler needs. */
export interface KnowledgeSchedulerOptions {
  readonly sync: Omit<SyncOptions, 'trigger' | 'onProgress'>;
  /** Cron expression, or undefined for the start-up sync only. */
  readonly schedule?: string;
  readonly logger: Logger;
}

/** The knowledge sync as a background service. */
export class KnowledgeScheduler implements BackgroundService {
  readonly name = 'knowledge-sync';
  private readonly opts: KnowledgeSchedulerOptions;
  private cron?: Cron;
  private running: Promise<SyncSummary | undefined> | undefined;
  private readonly abort = new AbortController();

  constructor(opts: KnowledgeSchedulerOptions) {
    this.opts = opts;
  }

  start(): void {
    void this.run('start');
    if (this.opts.schedule) {
      this.cron = new Cron(this.opts.schedule, { timezone: 'UTC', protect: true }, () => {
        void this.run('schedule');
      });
    }
  }

  /** One sync now, unless one is running (then that one's result). */
  run(trigger: string): Promise<SyncSummary | undefined> {
    this.running ??= (async () => {
      const log = this.opts.logger;
      try {
        const summary = await syncKnowledge({
          ...this.opts.sync,
          trigger,
          signal: this.abort.signal,
          onProgress: (p) =>
            (p.outcome === 'failed' ? log.warn : p.outcome === 'unchanged' ? log.debug : log.info).call(
              log,
              { file: p.path, outcome: p.outcome, chunks: p.chunks, error: p.error },
              `knowledge: ${formatProgress(p)}`,
            ),
        });
        const { errors: _errors, ...counts } = summary;
        log.info({ trigger, ...counts }, 'knowledge sync finished');
        return summary;
      } catch (err) {
        if (this.abort.signal.aborted) {
          log.info({ trigger }, 'knowledge sync interrupted by shutdown; the next one picks up from here');
          return undefined;
        }
        log.error({ err: (err as Error).message, trigger }, 'knowledge sync failed');
        return undefined;
      } finally {
        this.running = undefined;
      }
    })();
    return this.running;
  }

  async stop(): Promise<void> {
    this.cron?.stop();
    this.abort.abort();
    await this.running;
  }
}
