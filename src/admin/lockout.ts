/**
 * The failed-key lockout: after `max` wrong or missing keys from one client within `windowMs`, the
 * client's requests without a valid key get 429 until the window ends; requests that carry a valid
 * key are let through (the admin plugin checks the key first), so an operator behind the same
 * address as someone guessing keeps working. Counts live in Redis when it is
 * configured (so every replica sees them) and always in this process too: when Redis is
 * unreachable the in-process count still locks the client out, instead of the lockout turning
 * off (readiness reports Redis as a warning meanwhile).
 */
import type { Redis } from 'ioredis';

/** The verdict for one client. */
export interface LockoutState {
  readonly locked: boolean;
  /** Seconds until the window ends (0 when not locked). */
  readonly retryAfterSeconds: number;
}

interface Window {
  count: number;
  resetAt: number;
}

/** In-process windows kept at most (oldest dropped first); bounds memory under address floods. */
const MAX_LOCAL_KEYS = 100_000;

/** Failed-key counting with a Redis store and an in-process fallback. */
export class FailureLockout {
  private readonly local = new Map<string, Window>();
  private readonly max: number;
  private readonly windowMs: number;
  private readonly redis?: Redis;
  private readonly prefix: string;
  private readonly now: () => number;

  constructor(opts: { max: number; windowMs: number; redis?: Redis; prefix?: string; now?: () => number }) {
    this.max = opts.max;
    this.windowMs = opts.windowMs;
    this.redis = opts.redis;
    this.prefix = opts.prefix ?? 'wadi:admin-rl:auth-fail:';
    this.now = opts.now ?? Date.now;
  }

  /** Whether `client` is locked out now. */
  async check(client: string): Promise<LockoutState> {
    const local = this.localState(client);
    if (local.locked) return local;
    const shared = await this.redisRead(client);
    return shared ?? local;
  }

  /** Counts one failure for `client`. */
  async fail(client: string): Promise<void> {
    const t = this.now();
    let w = this.local.get(client);
    if (!w || w.resetAt <= t) {
      if (this.local.size >= MAX_LOCAL_KEYS) this.prune(t);
      w = { count: 0, resetAt: t + this.windowMs };
      this.local.delete(client);
      this.local.set(client, w);
    }
    w.count++;
    await this.redisIncrement(client);
  }

  private localState(client: string): LockoutState {
    const w = this.local.get(client);
    const t = this.now();
    if (!w || w.resetAt <= t || w.count < this.max) return { locked: false, retryAfterSeconds: 0 };
    return { locked: true, retryAfterSeconds: Math.max(1, Math.ceil((w.resetAt - t) / 1000)) };
  }

  private usable(): Redis | undefined {
    return this.redis && this.redis.status === 'ready' ? this.redis : undefined;
  }

  private async redisRead(client: string): Promise<LockoutState | undefined> {
    const r = this.usable();
    if (!r) return undefined;
    try {
      const key = this.prefix + client;
      const [[, count], [, ttl]] = (await r.multi().get(key).pttl(key).exec()) as [
        [Error | null, string | null],
        [Error | null, number],
      ];
      if (Number(count ?? 0) < this.max || ttl <= 0) return { locked: false, retryAfterSeconds: 0 };
      return { locked: true, retryAfterSeconds: Math.max(1, Math.ceil(ttl / 1000)) };
    } catch {
      return undefined; // Redis failed mid-request: the in-process count decides
    }
  }

  private async redisIncrement(client: string): Promise<void> {
    const r = this.usable();
    if (!r) return;
    try {
      const key = this.prefix + client;
      // The window starts at the first failure (SET NX PX), as the in-process one does.
      await r.multi().set(key, '0', 'PX', this.windowMs, 'NX').incr(key).exec();
    } catch {
      // counted in-process already
    }
  }

  /** Drops expired windows, then the oldest ones, to make room. */
  private prune(t: number): void {
    for (const [k, w] of this.local) if (w.resetAt <= t) this.local.delete(k);
    for (const k of this.local.keys()) {
      if (this.local.size < MAX_LOCAL_KEYS) break;
      this.local.delete(k);
    }
  }
}
