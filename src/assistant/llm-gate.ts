/**
 * The LLM's admission gate, shared by every turn of the process: at most LLM_MAX_CONCURRENCY chat
 * completions in flight, and one provider backoff. When the provider answers 429 (or 503) with
 * `retry-after-ms` / `retry-after`, every request of the process, and of every replica when Redis is
 * configured, waits until that instant before it is sent, instead of each turn hammering the
 * provider on its own schedule. A wait longer than `maxWaitMs` is not waited: the request fails as
 * unavailable with the remaining time, so the turn is postponed and its lease released.
 *
 * The backoff is applied per HTTP attempt (the adapter's fetch goes through `beforeAttempt` /
 * `afterAttempt`), so the SDK's own retries of a 429 wait for the shared instant too.
 */
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { AssistantUnavailableError } from './assistant.ts';

/** Where the "do not call the provider before" instant lives. */
export interface BackoffStore {
  /** The instant (epoch ms) before which nobody calls the provider; 0 when none. */
  until(): Promise<number>;
  /** Moves the instant to `untilMs` unless it is already later. */
  extend(untilMs: number): Promise<void>;
}

/** In-process store (one replica, or Redis unavailable). */
export class LocalBackoffStore implements BackoffStore {
  private at = 0;
  async until(): Promise<number> {
    return this.at;
  }
  async extend(untilMs: number): Promise<void> {
    if (untilMs > this.at) this.at = untilMs;
  }
}

// KEYS[1]: the backoff key. ARGV: until (ms), ttl (ms). Keeps the later instant.
const EXTEND_LUA = `
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
local v = tonumber(ARGV[1])
if v > cur then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) end
return 1`;

/**
 * Shared across replicas through Redis; falls back to the in-process instant while Redis fails
 * (a replica then backs off on what it saw itself).
 */
export class RedisBackoffStore implements BackoffStore {
  private readonly local = new LocalBackoffStore();
  private readonly redis: Redis;
  private readonly key: string;
  private readonly logger?: Logger;
  private warned = false;

  constructor(redis: Redis, opts: { keyPrefix?: string; logger?: Logger } = {}) {
    this.redis = redis;
    this.key = `${opts.keyPrefix ?? 'wadi:'}llm:backoff_until`;
    this.logger = opts.logger;
  }

  async until(): Promise<number> {
    const local = await this.local.until();
    try {
      const v = await this.redis.get(this.key);
      this.warned = false;
      return Math.max(local, v ? Number(v) || 0 : 0);
    } catch (err) {
      this.warn(err);
      return local;
    }
  }

  async extend(untilMs: number): Promise<void> {
    await this.local.extend(untilMs);
    try {
      const ttl = Math.max(Math.ceil(untilMs - Date.now()), 1);
      await this.redis.eval(EXTEND_LUA, 1, this.key, String(Math.ceil(untilMs)), String(ttl));
    } catch (err) {
      this.warn(err);
    }
  }

  private warn(err: unknown): void {
    if (this.warned) return;
    this.warned = true;
    this.logger?.warn({ err: (err as Error).message }, 'LLM backoff: Redis unavailable, backing off per process');
  }
}

/** Gate settings. */
export interface LlmGateOptions {
  /** Chat completions in flight at once in this process (LLM_MAX_CONCURRENCY). */
  readonly maxConcurrency: number;
  readonly store?: BackoffStore;
  /** Longest shared backoff a request waits for; beyond it the turn is postponed instead. */
  readonly maxWaitMs: number;
  /** Backoff after a 429 that names no retry time. */
  readonly defaultBackoffMs?: number;
  readonly now?: () => number;
}

/** How long a throttling answer asks callers to wait, in ms (undefined when it does not say). */
export function retryAfterMs(headers: Headers, now = Date.now()): number | undefined {
  const ms = headers.get('retry-after-ms');
  if (ms !== null && ms.trim() !== '' && Number.isFinite(Number(ms))) return Math.max(Number(ms), 0);
  const ra = headers.get('retry-after');
  if (ra === null || ra.trim() === '') return undefined;
  if (/^\s*\d+(\.\d+)?\s*$/.test(ra)) return Number(ra) * 1000;
  const at = Date.parse(ra);
  return Number.isFinite(at) ? Math.max(at - now, 0) : undefined;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason ?? new Error('aborted'));
    const timer = setTimeout(done, ms);
    function done() {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }
    function onAbort() {
      clearTimeout(timer);
      reject(signal?.reason ?? new Error('aborted'));
    }
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** The gate. */
export class LlmGate {
  private readonly o: LlmGateOptions;
  private readonly store: BackoffStore;
  private readonly now: () => number;
  private active = 0;
  private readonly queue: (() => void)[] = [];

  constructor(opts: LlmGateOptions) {
    this.o = opts;
    this.store = opts.store ?? new LocalBackoffStore();
    this.now = opts.now ?? Date.now;
  }

  /** Requests in flight and waiting for a slot (for tests and the admin view). */
  stats(): { active: number; waiting: number } {
    return { active: this.active, waiting: this.queue.length };
  }

  /** Runs `fn` holding one of the LLM_MAX_CONCURRENCY slots. */
  async run<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    await this.acquire(signal);
    try {
      return await fn();
    } finally {
      this.release();
    }
  }

  /** Before each HTTP attempt: waits for the shared backoff, or fails fast when it is too long. */
  async beforeAttempt(signal?: AbortSignal): Promise<void> {
    for (;;) {
      const wait = (await this.store.until()) - this.now();
      if (wait <= 0) return;
      if (wait > this.o.maxWaitMs) {
        throw new AssistantUnavailableError(`LLM provider asked to back off for ${Math.ceil(wait / 1000)} s`, {
          retryAfterMs: wait,
        });
      }
      await sleep(wait, signal);
    }
  }

  /** After each HTTP attempt: a throttling answer backs every caller off. */
  async afterAttempt(status: number, headers: Headers): Promise<void> {
    if (status !== 429 && status !== 503) return;
    const ms = retryAfterMs(headers, this.now());
    if (ms === undefined && status === 503) return;
    await this.store.extend(this.now() + (ms ?? this.o.defaultBackoffMs ?? 1000));
  }

  /** A fetch for the SDK that goes through the shared backoff on every attempt. */
  fetch(inner: typeof fetch = fetch): typeof fetch {
    return async (input, init) => {
      await this.beforeAttempt(init?.signal ?? undefined);
      const res = await inner(input, init);
      await this.afterAttempt(res.status, res.headers);
      return res;
    };
  }

  private acquire(signal?: AbortSignal): Promise<void> {
    if (this.active < this.o.maxConcurrency) {
      this.active++;
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const grant = () => {
        signal?.removeEventListener('abort', onAbort);
        this.active++;
        resolve();
      };
      const onAbort = () => {
        const i = this.queue.indexOf(grant);
        if (i >= 0) this.queue.splice(i, 1);
        reject(new AssistantUnavailableError('LLM request aborted while waiting for a slot'));
      };
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      this.queue.push(grant);
    });
  }

  private release(): void {
    this.active--;
    const next = this.queue.shift();
    if (next) next();
  }
}
