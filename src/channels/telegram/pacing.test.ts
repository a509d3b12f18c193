import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { type Clock, type PaceChatType, Pacer, TELEGRAM_LIMITS } from './pacing.ts';

/** A clock that only moves when told; sleeping never waits (acquire returns its wait instead). */
class ManualClock implements Clock {
  t = 1_000_000;
  now() {
    return this.t;
  }
  async sleep() {}
}

/** Sends reserved at `slot` ms, per key. */
type Slot = { chat: string; type: PaceChatType; slot: number };

/** Asserts every Telegram limit holds over the reserved slots. */
function assertLimits(slots: Slot[]) {
  const check = (list: number[], limit: number, windowMs: number, what: string) => {
    const s = [...list].sort((a, b) => a - b);
    for (let i = limit; i < s.length; i++) {
      expect(s[i] - s[i - limit], `${what}: ${limit + 1} sends within ${windowMs} ms`).toBeGreaterThanOrEqual(windowMs);
    }
  };
  check(
    slots.map((s) => s.slot),
    TELEGRAM_LIMITS.global.limit,
    TELEGRAM_LIMITS.global.windowMs,
    'global',
  );
  for (const chat of new Set(slots.map((s) => s.chat))) {
    const mine = slots.filter((s) => s.chat === chat);
    check(
      mine.map((s) => s.slot),
      1,
      1000,
      `chat ${chat}`,
    );
    if (mine[0].type !== 'private')
      check(
        mine.map((s) => s.slot),
        20,
        60_000,
        `group ${chat}`,
      );
  }
}

async function burst(pacers: Pacer[], clock: ManualClock, sends: { chat: string; type: PaceChatType }[]) {
  const out: Slot[] = [];
  let i = 0;
  for (const s of sends) {
    const wait = await pacers[i++ % pacers.length].acquire(s.chat, s.type);
    out.push({ ...s, slot: clock.now() + wait });
  }
  return out;
}

const mixed = () => [
  ...Array.from({ length: 40 }, () => ({ chat: '42', type: 'private' as const })),
  ...Array.from({ length: 30 }, () => ({ chat: '-100123', type: 'supergroup' as const })),
  ...Array.from({ length: 120 }, (_, i) => ({ chat: String(1000 + i), type: 'private' as const })),
];

describe('telegram pacing (in process, fake clock)', () => {
  it('spaces one chat at 1 message per second', async () => {
    const clock = new ManualClock();
    const p = new Pacer({ clock });
    const slots = await burst(
      [p],
      clock,
      Array.from({ length: 10 }, () => ({ chat: '7', type: 'private' as const })),
    );
    expect(slots.map((s) => s.slot - clock.t)).toEqual([0, 1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000, 9000]);
  });

  it('holds 20 per minute in a group and 30 per second overall under a mixed burst', async () => {
    const clock = new ManualClock();
    const slots = await burst([new Pacer({ clock })], clock, mixed());
    assertLimits(slots);
    const group = slots.filter((s) => s.chat === '-100123').map((s) => s.slot - clock.t);
    expect(group[19]).toBeLessThan(20_000);
    expect(group[20]).toBeGreaterThanOrEqual(group[0] + 60_000); // the 21st waits for the first to leave the minute
    // Users who each send once are held back only by the overall limit, not by chat 42's queue.
    const others = slots.filter((s) => Number(s.chat) >= 1000).map((s) => s.slot - clock.t);
    expect(Math.max(...others)).toBeLessThan(6000);
  });

  it('lets time pass: a chat idle for a second sends at once', async () => {
    const clock = new ManualClock();
    const p = new Pacer({ clock });
    expect(await p.acquire('9')).toBe(0);
    clock.t += 1000;
    expect(await p.acquire('9')).toBe(0);
    clock.t += 400;
    expect(await p.acquire('9')).toBe(600);
  });

  it('pauses a chat for retry_after after a 429', async () => {
    const clock = new ManualClock();
    const p = new Pacer({ clock });
    await p.acquire('5');
    await p.pause('5', 7000);
    expect(await p.acquire('5')).toBe(7000);
    expect(await p.acquire('6')).toBeLessThan(100); // other chats are not held back
  });

  it('falls back to in-process pacing when Redis is unreachable', async () => {
    const clock = new ManualClock();
    const dead = new Redis('redis://127.0.0.1:1', {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
    });
    const p = new Pacer({ clock, redis: dead });
    expect(await p.acquire('1')).toBe(0);
    expect(await p.acquire('1')).toBe(1000);
    dead.disconnect();
  });
});

describe.runIf(process.env.TEST_REDIS_URL)('telegram pacing shared through Redis', () => {
  const prefix = `wadi:test:pace:${randomUUID()}`;
  const clients: Redis[] = [];
  const client = async () => {
    const r = new Redis(process.env.TEST_REDIS_URL as string, { maxRetriesPerRequest: 1 });
    clients.push(r);
    await new Promise<void>((resolve) => (r.status === 'ready' ? resolve() : r.once('ready', () => resolve())));
    return r;
  };
  afterAll(async () => {
    const r = clients[0];
    if (r) {
      const keys = await r.keys(`${prefix}:*`);
      if (keys.length) await r.del(...keys);
    }
    for (const c of clients) c.disconnect();
  });

  it('holds every limit across two replicas sharing Redis', async () => {
    const clock = new ManualClock();
    const a = new Pacer({ clock, redis: await client(), keyPrefix: prefix });
    const b = new Pacer({ clock, redis: await client(), keyPrefix: prefix });
    const slots = await burst([a, b], clock, mixed());
    assertLimits(slots);
    // Replica b saw replica a's reservation: the second message to chat 42 waits a second.
    expect(slots[1].slot - slots[0].slot).toBe(1000);
  });

  it('shares a 429 pause between replicas and lets keys expire', async () => {
    const clock = new ManualClock();
    const r = await client();
    const a = new Pacer({ clock, redis: r, keyPrefix: `${prefix}:p` });
    const b = new Pacer({ clock, redis: await client(), keyPrefix: `${prefix}:p` });
    await a.pause('55', 5000);
    expect(await b.acquire('55')).toBe(5000);
    const ttl = await r.pttl(`${prefix}:p:chat:55`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(5000 + 1000 + 1000);
  });
});
