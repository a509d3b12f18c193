/**
 * Long polling (`TELEGRAM_MODE=polling`): one replica at a time (a PostgreSQL advisory lock) calls
 * getUpdates with the offset stored in the `kv` table. The offset moves forward only after the
 * updates are committed through the inbox writer: a crash before that re-fetches them, and the
 * inbox dedupe on `update:<update_id>` turns the repeat into a no-op, so nothing is lost or
 * answered twice. A 409 (webhook set, or a foreign poller) is logged once and shown in readiness.
 */

import { GrammyError } from 'grammy';
import type { Logger } from 'pino';
import type { Database, HeldLock } from '../../db/client.ts';
import { backoffDelay } from '../../kernel/backoff.ts';
import type { BackgroundService } from '../../kernel/service.ts';
import type { HealthCheck } from '../../observability/health/health.ts';
import type { TelegramClient } from './client.ts';
import { safeError } from './client.ts';
import type { IngestDeps } from './ingest.ts';
import { ingestUpdates } from './ingest.ts';
import { ALLOWED_UPDATES, type TgUpdate } from './update-types.ts';

/** kv key of the next update_id to ask for. */
export const OFFSET_KEY = 'telegram:offset';
/** Advisory lock key: "TGPL". */
export const POLL_LOCK_KEY = 0x5447504c;

const CONFLICT = 'getUpdates conflict (409): a webhook is set or another poller runs';

/** Tuning and test seams. */
export interface PollerOptions {
  readonly client: TelegramClient;
  readonly database: Database;
  readonly ingest: IngestDeps;
  readonly logger: Logger;
  /** Long-poll timeout in seconds (Telegram holds the request this long when idle). */
  readonly timeoutSeconds?: number;
  readonly limit?: number;
  /** First backoff delay; doubles up to maxBackoffMs, with jitter. */
  readonly backoffMs?: number;
  readonly maxBackoffMs?: number;
  /** How often a replica without the lock tries again. */
  readonly lockRetryMs?: number;
  /** Replaces ingest for crash tests (defaults to ingestUpdates). */
  readonly store?: (updates: readonly TgUpdate[]) => Promise<unknown>;
}

/** Reads the stored offset (0 when none). */
export async function readOffset(database: Database): Promise<number> {
  const { rows } = await database.query<{ offset: string | number }>(
    `select value->>'offset' as offset from kv where key = $1`,
    [OFFSET_KEY],
  );
  return rows.length > 0 ? Number(rows[0].offset) : 0;
}

/** Stores the offset; never moves it backwards. */
export async function writeOffset(database: Database, offset: number): Promise<void> {
  await database.query(
    `insert into kv (key, value, updated_at) values ($1, jsonb_build_object('offset', $2::bigint), now())
     on conflict (key) do update set value = excluded.value, updated_at = now()
     where (kv.value->>'offset')::bigint < $2::bigint`,
    [OFFSET_KEY, offset],
  );
}

/** The poller service plus its readiness check. */
export class TelegramPoller implements BackgroundService {
  readonly name = 'telegram-poller';
  private readonly o: PollerOptions;
  private abort = new AbortController();
  private loop?: Promise<void>;
  private state: { status: 'pass' | 'warn'; output?: string } = { status: 'pass', output: 'starting' };
  private failures = 0;

  constructor(opts: PollerOptions) {
    this.o = opts;
  }

  /** Readiness: 'warn' while a 409 or repeated errors keep us from receiving updates. */
  readonly check: HealthCheck = {
    name: 'telegram:polling',
    componentType: 'component',
    run: () => ({ status: this.state.status, output: this.state.output }),
  };

  start(): void {
    this.abort = new AbortController();
    this.loop = this.run(this.abort.signal);
  }

  /** Aborts the long poll in flight and waits for the loop (an ingest in progress completes). */
  async stop(): Promise<void> {
    this.abort.abort();
    await this.loop;
  }

  private async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      let lock: HeldLock | null = null;
      try {
        lock = await this.o.database.tryAdvisoryLock(POLL_LOCK_KEY);
      } catch (err) {
        this.o.logger.warn({ err: (err as Error).message }, 'telegram poller cannot reach the database');
      }
      if (!lock) {
        this.state = { status: 'pass', output: 'another replica polls Telegram' };
        await sleep(this.o.lockRetryMs ?? 15_000, signal);
        continue;
      }
      let lost = false;
      void lock.lost.then(() => {
        lost = true;
      });
      try {
        this.o.logger.info('telegram long polling started');
        this.state = { status: 'pass', output: 'polling' };
        while (!signal.aborted && !lost) await this.pollOnce(signal);
      } finally {
        await lock.release();
      }
    }
  }

  /** One getUpdates round: fetch, commit, then advance the offset. */
  private async pollOnce(signal: AbortSignal): Promise<void> {
    try {
      const offset = await readOffset(this.o.database);
      const updates = (await this.o.client.get().getUpdates(
        {
          offset,
          limit: this.o.limit ?? 100,
          timeout: this.o.timeoutSeconds ?? 25,
          allowed_updates: [...ALLOWED_UPDATES],
        },
        // grammY types the signal as its abort-controller shim; the native one works the same.
        signal as never,
      )) as unknown as TgUpdate[];
      if (this.failures > 0 || this.state.status !== 'pass') this.o.logger.info('telegram polling recovered');
      this.failures = 0;
      this.state = { status: 'pass', output: 'polling' };
      if (updates.length === 0) return;
      await (this.o.store ?? ((u) => ingestUpdates(u, this.o.ingest)))(updates);
      // Only now, with the updates committed, may Telegram forget them.
      await writeOffset(this.o.database, Math.max(...updates.map((u) => u.update_id)) + 1);
    } catch (err) {
      if (signal.aborted) return;
      this.failures++;
      if (err instanceof GrammyError && err.error_code === 409) {
        if (this.state.output !== CONFLICT) {
          this.o.logger.warn(
            { description: err.description },
            'telegram getUpdates conflict (409): a webhook is set or another poller runs; delete the webhook (wadi telegram delete-webhook) or stop the other poller',
          );
        }
        this.state = { status: 'warn', output: CONFLICT };
      } else {
        this.o.logger.warn({ err: safeError(err), failures: this.failures }, 'telegram polling failed; backing off');
        if (this.failures >= 3) this.state = { status: 'warn', output: 'getUpdates failing' };
      }
      await sleep(this.backoff(), signal);
    }
  }

  private backoff(): number {
    // Jitter in the upper half: replicas and restarts do not retry in lockstep.
    return backoffDelay(
      { baseMs: this.o.backoffMs ?? 1000, maxMs: this.o.maxBackoffMs ?? 60_000, jitter: [0.5, 1] },
      this.failures,
    );
  }
}

/** Sleeps `ms` or until `signal` aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
