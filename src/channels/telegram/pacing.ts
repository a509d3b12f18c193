/**
 * Outbound pacing for the Bot API's published limits: at most 1 message/s per chat, 20/min per
 * group, 30/s overall. A send reserves the earliest instant that keeps every limit (sliding
 * windows per chat and group, a grid of 35 ms cells overall), then waits until it. Reservations are shared
 * across replicas through Redis (one atomic Lua script) when configured, and kept in process
 * otherwise or while Redis fails. A 429 pauses its chat for `retry_after` on every replica.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';

/** Time source; tests pass a fake whose sleep advances `now` without waiting. */
export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

/** The real clock. */
export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
};

/** One sliding-window limit. */
export interface Limit {
  readonly limit: number;
  readonly windowMs: number;
}

/** Telegram's limits (Bot FAQ). */
export const TELEGRAM_LIMITS = {
  perChat: { limit: 1, windowMs: 1000 },
  perGroup: { limit: 20, windowMs: 60_000 },
  global: { limit: 30, windowMs: 1000 },
} as const satisfies Record<string, Limit>;

/** Chat types the pacer distinguishes. */
export type PaceChatType = 'private' | 'group' | 'supergroup' | 'channel';

/** Options for a Pacer. */
export interface PacerOptions {
  readonly redis?: Redis;
  /** Prefix of every Redis key (tests use a unique one). */
  readonly keyPrefix?: string;
  readonly clock?: Clock;
  readonly limits?: typeof TELEGRAM_LIMITS;
  readonly logger?: Logger;
}

// Per chat and per group, sends are reserved in order, so a window is the chat's last `limit`
// reservations. Overall, sends from different chats must not queue behind a slow chat: the
// global limit is a grid of cells (windowMs / (limit - 1) wide), one send per cell, taken first-free.
//
// KEYS: chat/group window sets, the pause key, the global cell set. ARGV: now, member, cellMs,
// then limit/window pairs for the window sets.
const RESERVE_LUA = `
local now = tonumber(ARGV[1])
local member = ARGV[2]
local cellMs = tonumber(ARGV[3])
local n = #KEYS - 2
local slot = now
local paused = redis.call('GET', KEYS[n + 1])
if paused and tonumber(paused) > slot then slot = tonumber(paused) end
for i = 1, n do
  local limit = tonumber(ARGV[2 + i * 2])
  local win = tonumber(ARGV[3 + i * 2])
  local last = redis.call('ZRANGE', KEYS[i], -1, -1, 'WITHSCORES')
  if last[2] and tonumber(last[2]) > slot then slot = tonumber(last[2]) end
  local card = redis.call('ZCARD', KEYS[i])
  if card >= limit then
    local first = redis.call('ZRANGE', KEYS[i], card - limit, card - limit, 'WITHSCORES')
    if tonumber(first[2]) + win > slot then slot = tonumber(first[2]) + win end
  end
end
local g = KEYS[n + 2]
local cell = math.floor(slot / cellMs)
while redis.call('ZSCORE', g, cell) do cell = cell + 1 end
if cell * cellMs > slot then slot = cell * cellMs end
redis.call('ZADD', g, cell, cell)
redis.call('ZREMRANGEBYSCORE', g, '-inf', math.floor(now / cellMs) - 2)
redis.call('PEXPIRE', g, math.floor(slot - now + 60000))
for i = 1, n do
  local limit = tonumber(ARGV[2 + i * 2])
  local win = tonumber(ARGV[3 + i * 2])
  redis.call('ZADD', KEYS[i], slot, member)
  redis.call('ZREMRANGEBYRANK', KEYS[i], 0, -(limit + 1))
  redis.call('PEXPIRE', KEYS[i], math.floor(slot - now + win + 1000))
end
return slot`;

/** Shared (Redis) or local (in-process) pacing for Telegram sends. */
export class Pacer {
  private readonly local = new Map<string, number[]>();
  private readonly pauses = new Map<string, number>();
  /** Global grid cells taken (cell index = slot / cellMs). */
  private readonly cells = new Set<number>();
  private readonly cellMs: number;
  private readonly redis?: Redis;
  private readonly prefix: string;
  private readonly clock: Clock;
  private readonly limits: typeof TELEGRAM_LIMITS;
  private readonly logger?: Logger;
  private redisFailing = false;

  constructor(opts: PacerOptions = {}) {
    this.redis = opts.redis;
    this.prefix = opts.keyPrefix ?? 'wadi:tg:pace';
    this.clock = opts.clock ?? systemClock;
    this.limits = opts.limits ?? TELEGRAM_LIMITS;
    this.logger = opts.logger;
    // One send per cell anywhere inside it: a window of windowMs touches at most `limit` cells
    // when cells are windowMs / (limit - 1) wide.
    const g = this.limits.global;
    this.cellMs = Math.ceil(g.windowMs / Math.max(1, g.limit - 1));
  }

  /** Waits until a message to `chatId` may go out; returns how long it waited (ms). */
  async acquire(chatId: string, chatType: PaceChatType = 'private'): Promise<number> {
    const now = this.clock.now();
    const windows: [string, Limit][] = [[`chat:${chatId}`, this.limits.perChat]];
    if (chatType !== 'private') windows.push([`group:${chatId}`, this.limits.perGroup]);
    const slot = (await this.reserveShared(windows, chatId, now)) ?? this.reserveLocal(windows, chatId, now);
    const wait = Math.max(0, slot - now);
    if (wait > 0) await this.clock.sleep(wait);
    return wait;
  }

  /** After a 429: no message to `chatId` before `ms` from now, on any replica. */
  async pause(chatId: string, ms: number): Promise<void> {
    const until = this.clock.now() + ms;
    this.pauses.set(chatId, Math.max(this.pauses.get(chatId) ?? 0, until));
    if (!this.redis) return;
    try {
      await this.redis.set(`${this.prefix}:pause:${chatId}`, String(until), 'PX', Math.max(1, Math.ceil(ms)));
    } catch (err) {
      this.redisFailed(err);
    }
  }

  private async reserveShared(windows: [string, Limit][], chatId: string, now: number): Promise<number | undefined> {
    const redis = this.redis;
    if (redis?.status !== 'ready') return undefined;
    try {
      const keys = [
        ...windows.map(([k]) => `${this.prefix}:${k}`),
        `${this.prefix}:pause:${chatId}`,
        `${this.prefix}:global`,
      ];
      const args = [
        String(now),
        randomUUID(),
        String(this.cellMs),
        ...windows.flatMap(([, l]) => [String(l.limit), String(l.windowMs)]),
      ];
      const slot = Number(await redis.eval(RESERVE_LUA, keys.length, ...keys, ...args));
      if (this.redisFailing) this.logger?.info('telegram pacing shared through Redis again');
      this.redisFailing = false;
      return Math.max(slot, this.pauses.get(chatId) ?? 0);
    } catch (err) {
      this.redisFailed(err);
      return undefined;
    }
  }

  private reserveLocal(windows: [string, Limit][], chatId: string, now: number): number {
    let slot = Math.max(now, this.pauses.get(chatId) ?? 0);
    for (const [key, l] of windows) {
      const ts = this.local.get(key) ?? [];
      if (ts.length > 0) slot = Math.max(slot, ts[ts.length - 1]);
      if (ts.length >= l.limit) slot = Math.max(slot, ts[ts.length - l.limit] + l.windowMs);
    }
    let cell = Math.floor(slot / this.cellMs);
    while (this.cells.has(cell)) cell++;
    this.cells.add(cell);
    slot = Math.max(slot, cell * this.cellMs);
    for (const [key, l] of windows) {
      const ts = this.local.get(key) ?? [];
      ts.push(slot);
      if (ts.length > l.limit) ts.splice(0, ts.length - l.limit);
      this.local.set(key, ts);
    }
    this.sweep(now);
    return slot;
  }

  /** Forgets windows that can no longer constrain anything, so memory follows active chats. */
  private sweep(now: number): void {
    if (this.cells.size > 1000) {
      const past = Math.floor(now / this.cellMs) - 2;
      for (const c of this.cells) if (c < past) this.cells.delete(c);
    }
    if (this.local.size < 10_000) return;
    for (const [key, ts] of this.local) if (ts[ts.length - 1] + 60_000 < now) this.local.delete(key);
    for (const [key, until] of this.pauses) if (until < now) this.pauses.delete(key);
  }

  private redisFailed(err: unknown): void {
    if (!this.redisFailing) {
      this.logger?.warn({ err: (err as Error).message }, 'telegram pacing falls back to in-process (Redis error)');
    }
    this.redisFailing = true;
  }
}
