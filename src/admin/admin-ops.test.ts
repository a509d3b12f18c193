import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { adminClient, newIp } from '../../test/helpers/admin.ts';
import { seedConversation, seedInbound, seedOutbound } from '../../test/helpers/admin-seed.ts';
import { type TestDb, testDatabase } from '../../test/helpers/db.ts';
import { startTestWadi, TEST_ADMIN_KEY, type TestWadi } from '../../test/helpers/wadi.ts';

const SECOND_KEY = 'second-admin-key-for-rotation-0123456789';

let t: TestDb;
let w: TestWadi;
const call = adminClient(() => w.url);

beforeAll(async () => {
  t = await testDatabase();
  w = await startTestWadi(t.database, {
    env: { ADMIN_API_KEY: `${TEST_ADMIN_KEY},${SECOND_KEY}`, TRUST_PROXY: 'true' },
  });
});
afterAll(async () => {
  await w?.stop();
  await t?.drop();
});

describe('admin authentication', () => {
  it('answers 401 without a key and with a wrong key, and 200 with either rotated key', async () => {
    const none = await call('/admin/sessions', { key: null });
    expect(none.status).toBe(401);
    expect(none.body).toEqual({ error: { code: 'unauthorized', message: expect.any(String) } });
    const wrong = await call('/admin/sessions', { key: `${TEST_ADMIN_KEY}x` });
    expect(wrong.status).toBe(401);
    expect(wrong.body.error.code).toBe('unauthorized');
    expect((await call('/admin/sessions')).status).toBe(200);
    expect((await call('/admin/sessions', { key: SECOND_KEY })).status).toBe(200);
  });

  it("locks a client's wrong keys out with 429 and Retry-After after 10 failures, per address, never a valid key", async () => {
    const attacker = newIp();
    for (let i = 0; i < 10; i++) {
      expect((await call('/admin/health', { key: `guess-${i}`, ip: attacker })).status).toBe(401);
    }
    const locked = await call('/admin/health', { key: `guess-x`, ip: attacker });
    expect(locked.status).toBe(429);
    expect(locked.body.error.code).toBe('too_many_requests');
    expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(Number(locked.headers.get('retry-after'))).toBeLessThanOrEqual(300);
    // No key at all is locked out too…
    expect((await call('/admin/health', { key: null, ip: attacker })).status).toBe(429);
    // …but an operator's valid key from the same address is not.
    expect((await call('/admin/health', { ip: attacker })).status).toBe(200);
    expect((await call('/admin/health', { key: 'guess-y', ip: attacker })).status).toBe(429);
    // Other clients are not affected.
    expect((await call('/admin/health', { ip: newIp() })).status).toBe(200);
  });

  it('never writes the key into the log', () => {
    expect(w.logs.text()).not.toContain(TEST_ADMIN_KEY);
    expect(w.logs.text()).not.toContain(SECOND_KEY);
  });
});

describe('admin reads', () => {
  // Providers a test registers are removed after it, whatever its outcome.
  afterEach(() => {
    const deps = w.wadi.wiring.admin;
    deps.stats = undefined;
    deps.alerts = undefined;
    deps.dependencyChecks.length = 0;
  });

  it('GET /admin/health lists every dependency with status and latency, including contributed checks', async () => {
    w.wadi.wiring.admin.dependencyChecks.push({
      name: 'llm:breaker',
      componentType: 'component',
      run: () => ({ status: 'warn', output: 'breaker half-open' }),
    });
    const r = await call('/admin/health');
    expect(r.status).toBe(200);
    expect(r.body.status).toBe('warn');
    expect(r.body.shuttingDown).toBe(false);
    const byName = Object.fromEntries(r.body.dependencies.map((d: { name: string }) => [d.name, d]));
    expect(byName['database:responseTime']).toMatchObject({ status: 'pass', latencyMs: expect.any(Number) });
    expect(byName['database:migrations'].status).toBe('pass');
    expect(byName['llm:breaker']).toMatchObject({
      status: 'warn',
      detail: 'breaker half-open',
      latencyMs: expect.any(Number),
    });
  });

  it('GET /admin/logs returns recent records, filtered by level and time', async () => {
    const marker = `marker-${Date.now()}`;
    const before = new Date(Date.now() - 1).toISOString();
    w.wadi.logger.info({ marker }, 'info line');
    w.wadi.logger.warn({ marker }, 'warn line');
    w.wadi.logger.error({ marker }, 'error line');
    const all = await call(`/admin/logs?limit=1000&since=${encodeURIComponent(before)}`);
    expect(all.status).toBe(200);
    const mine = (b: { records: { marker?: string; msg: string; level: string }[] }) =>
      b.records.filter((x) => x.marker === marker);
    expect(mine(all.body).map((x) => x.level)).toEqual(['info', 'warn', 'error']);
    const warn = await call('/admin/logs?limit=1000&level=warn');
    expect(mine(warn.body).map((x) => x.msg)).toEqual(['warn line', 'error line']);
    expect(warn.body.records.every((x: { level: string }) => ['warn', 'error', 'fatal'].includes(x.level))).toBe(true);
    const two = await call('/admin/logs?limit=2');
    expect(two.body.records).toHaveLength(2);
    expect((await call('/admin/logs?level=loud')).status).toBe(400);
  });

  it('GET /admin/logs searches, filters by route and conversation, and names the path of a 404', async () => {
    const marker = `Zürich-😀-${Date.now()}`;
    w.wadi.logger.info({ marker, conversationId: 41 }, 'about forty-one');
    w.wadi.logger.info({ marker, conversationId: 4 }, 'about four');
    expect((await fetch(`${w.url}/definitely/not/here?secret=x`)).status).toBe(404);
    const q = await call(`/admin/logs?limit=1000&q=${encodeURIComponent(marker.toUpperCase())}`);
    expect(q.status).toBe(200);
    expect(q.body.records.map((x: { msg: string }) => x.msg)).toEqual(['about forty-one', 'about four']);
    const c = await call(`/admin/logs?limit=1000&conversation=41&q=${encodeURIComponent(marker)}`);
    expect(c.body.records.map((x: { msg: string }) => x.msg)).toEqual(['about forty-one']);
    // An admin request about one conversation: its request line is found by that conversation,
    // not by one whose id merely starts the same.
    const conv = await seedConversation(t.database, { chatId: `logs-${Date.now()}` });
    expect((await call(`/admin/sessions/${conv}/messages`)).status).toBe(200);
    const about = (id: number) =>
      call(`/admin/logs?limit=1000&conversation=${id}&route=${encodeURIComponent('/admin/sessions/:id/messages')}`);
    // The request line is written once the response has gone: poll for it.
    await expect.poll(async () => (await about(conv)).body.records.length).toBe(1);
    expect((await about(conv)).body.records).toEqual([
      expect.objectContaining({ msg: 'request', method: 'GET', statusCode: 200, conversationId: conv }),
    ]);
    expect((await about(conv * 10 + 1)).body.records).toEqual([]);
    const missing = await call('/admin/logs?limit=1000&q=definitely%2Fnot%2Fhere');
    expect(missing.body.records).toEqual([
      expect.objectContaining({ msg: 'request', statusCode: 404, url: '/definitely/not/here' }),
    ]);
    expect(JSON.stringify(missing.body)).not.toContain('secret=x');
    const route = await call('/admin/logs?limit=1000&route=unknown');
    expect(route.body.records.length).toBeGreaterThan(0);
    expect(route.body.records.every((x: { route: string }) => x.route === 'unknown')).toBe(true);
    expect(route.body.routes).toContain('unknown');
    expect((await call('/admin/logs?conversation=abc')).status).toBe(400);
    expect((await call('/admin/logs?conversation=0')).status).toBe(400);
    expect((await call(`/admin/logs?q=${'x'.repeat(201)}`)).status).toBe(400);
  });

  it('GET /admin/stats and /admin/alerts answer 503 while their providers are not running', async () => {
    const s = await call('/admin/stats');
    expect(s.status).toBe(503);
    expect(s.body.error.code).toBe('stats_unavailable');
    const a = await call('/admin/alerts');
    expect(a.status).toBe(503);
    expect(a.body.error.code).toBe('alerts_unavailable');
    expect(Number(a.headers.get('retry-after'))).toBeGreaterThan(0);
    // An expected state the dashboard polls for: not logged as a server error.
    expect(w.logs.text()).not.toContain('alerts are not available');
  });

  it('GET /admin/stats merges the provider windows with backlog and outcomes from the database', async () => {
    const win = { windowSeconds: 60, requests: 120, rps: 2, p95Ms: 12.5, errorRate: 0.01, serverErrors: 1 };
    w.wadi.wiring.admin.stats = {
      windows: () => ({ '1m': win, '5m': { ...win, windowSeconds: 300 }, '15m': { ...win, windowSeconds: 900 } }),
      series: (minutes) =>
        Array.from({ length: minutes }, (_, i) => ({
          t: 1_700_000_000_000 + i * 60_000,
          rps: i,
          p95Ms: null,
          errorRate: 0,
        })),
    };
    const conv = await seedConversation(t.database, { chatId: '34999000111', name: 'Stats Person' });
    await seedInbound(t.database, {
      conversationId: conv,
      chatId: '34999000111',
      text: 'waiting',
      status: 'pending',
      secondsAgo: 90,
    });
    await seedOutbound(t.database, { conversationId: conv, chatId: '34999000111', text: 'a', status: 'delivered' });
    await seedOutbound(t.database, { conversationId: conv, chatId: '34999000111', text: 'b', status: 'failed' });
    const r = await call('/admin/stats?minutes=5');
    expect(r.status).toBe(200);
    expect(r.body.windows['1m']).toEqual(win);
    expect(r.body.series).toHaveLength(5);
    expect(r.body.series[4]).toEqual({ t: 1_700_000_240_000, rps: 4, p95Ms: null, errorRate: 0 });
    expect(r.body.inbox.pending).toBeGreaterThanOrEqual(1);
    expect(r.body.inbox.oldestPendingSeconds).toBeGreaterThanOrEqual(89);
    expect(r.body.outbound.lastHour.delivered).toBeGreaterThanOrEqual(1);
    expect(r.body.outbound.lastHour.failed).toBeGreaterThanOrEqual(1);
    const q = await call('/admin/queues');
    // Same counts (the age of the oldest message may have ticked a second in between).
    expect({ ...q.body.inbox, oldestPendingSeconds: 0 }).toEqual({ ...r.body.inbox, oldestPendingSeconds: 0 });
  });

  it('GET /admin/alerts shows firing apart from pending, every rule, recent alerts and the destinations', async () => {
    const firing = {
      alert: 'HighErrorRate',
      state: 'firing' as const,
      value: '9%',
      threshold: '5%',
      startedAt: new Date().toISOString(),
    };
    const resolved = {
      alert: 'HealthFailing',
      state: 'resolved' as const,
      startedAt: '2026-01-01T00:00:00.000Z',
      resolvedAt: '2026-01-01T00:05:00.000Z',
    };
    const pending = { alert: 'HighCpu', state: 'pending' as const, value: '91 %', startedAt: new Date().toISOString() };
    const rule = {
      alert: 'HighCpu',
      state: 'pending' as const,
      value: '91 %',
      threshold: '> 80 %',
      summary: 'CPU',
      forSeconds: 120,
      since: pending.startedAt,
      runbook: 'docs/operations.md#alert-highcpu',
    };
    let asked = 0;
    w.wadi.wiring.admin.alerts = {
      firing: async () => [firing],
      pending: async () => [pending],
      rules: async () => ({ evaluatedAt: '2026-01-01T00:06:00.000Z', rules: [rule] }),
      destinations: () => [],
      recent: async (limit) => {
        asked = limit;
        return [firing, resolved];
      },
    };
    const r = await call('/admin/alerts?limit=7');
    expect(r.status).toBe(200);
    expect(r.body).toEqual({
      firing: [firing],
      pending: [pending],
      recent: [firing, resolved],
      rules: { evaluatedAt: '2026-01-01T00:06:00.000Z', items: [rule] },
      destinations: [],
    });
    expect(asked).toBe(7);
  });

  it('GET /admin/info says whether this is the sandbox', async () => {
    const r = await call('/admin/info');
    expect(r.body).toMatchObject({
      role: 'all',
      sandbox: true,
      production: false,
      features: { stats: false, alerts: false },
    });
  });
});

const redisUrl = process.env.TEST_REDIS_URL;
if (!redisUrl && process.env.WADI_TEST_REQUIRE_SERVICES === '1') {
  throw new Error('WADI_TEST_REQUIRE_SERVICES=1 but TEST_REDIS_URL is not set');
}

describe.runIf(redisUrl)('admin rate limits shared through Redis', () => {
  let a: TestWadi;
  let b: TestWadi;
  // Random addresses: Redis keeps counters between runs for the length of their window.
  const randomIp = () => `172.16.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}`;

  beforeAll(async () => {
    const env = { REDIS_URL: redisUrl, TRUST_PROXY: 'true' };
    a = await startTestWadi(t.database, { env, admin: { maxPerMinute: 5 } });
    b = await startTestWadi(t.database, { env, admin: { maxPerMinute: 5 } });
    for (const x of [a, b]) {
      for (let i = 0; i < 100 && x.wadi.redis?.status !== 'ready'; i++) await new Promise((r) => setTimeout(r, 50));
      expect(x.wadi.redis?.status).toBe('ready');
    }
  });
  afterAll(async () => {
    await a?.stop();
    await b?.stop();
  });

  it('a client locked out on one replica is locked out on the other', async () => {
    const onA = adminClient(() => a.url, { ip: randomIp() });
    const attacker = randomIp();
    for (let i = 0; i < 10; i++)
      expect((await onA('/admin/info', { key: `nope-${i}`, ip: attacker })).status).toBe(401);
    const onB = adminClient(() => b.url);
    const locked = await onB('/admin/info', { key: 'nope-x', ip: attacker });
    expect(locked.status).toBe(429);
    expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(0);
    // An operator at the same address, with the valid key, works on both replicas.
    expect((await onB('/admin/info', { ip: attacker })).status).toBe(200);
    expect((await onA('/admin/info', { ip: attacker })).status).toBe(200);
    const keys = await a.wadi.redis!.keys(`wadi:admin-rl:*${attacker}`);
    expect(keys.length).toBeGreaterThan(0);
  });

  it('the general per-client limit counts requests on every replica', async () => {
    const client = randomIp();
    const onA = adminClient(() => a.url, { ip: client });
    const onB = adminClient(() => b.url, { ip: client });
    for (let i = 0; i < 3; i++) expect((await onA('/admin/info')).status).toBe(200);
    for (let i = 0; i < 2; i++) expect((await onB('/admin/info')).status).toBe(200);
    const over = await onB('/admin/info');
    expect(over.status).toBe(429);
    expect(over.body.error.code).toBe('too_many_requests');
    expect(Number(over.headers.get('retry-after'))).toBeGreaterThan(0);
  });
});
