/**
 * The failed-key lockout on a running WADI: it holds when Redis is configured but unreachable,
 * and it counts IPv6 clients per /64.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminClient } from '../../test/helpers/admin.ts';
import { freePort } from '../../test/helpers/cli.ts';
import { type TestDb, testDatabase } from '../../test/helpers/db.ts';
import { startTestWadi, TEST_ADMIN_KEY, type TestWadi } from '../../test/helpers/wadi.ts';
import { clientKey } from './client-key.ts';

let t: TestDb;
beforeAll(async () => {
  t = await testDatabase();
});
afterAll(async () => {
  await t?.drop();
});

describe('clientKey', () => {
  it.each([
    ['192.0.2.7', '192.0.2.7'],
    ['::ffff:192.0.2.7', '192.0.2.7'],
    ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2::/64'],
    ['2001:0db8:0001:0002:ffff:ffff:ffff:ffff', '2001:db8:1:2::/64'],
    ['2001:db8:1:3::1', '2001:db8:1:3::/64'],
    ['::1', '::/64'],
  ])('%s counts as %s', (ip, key) => {
    expect(clientKey(ip)).toBe(key);
  });
});

describe('an operator and someone guessing keys from the same address', () => {
  let w: TestWadi;
  beforeAll(async () => {
    // No TRUST_PROXY: both really connect from 127.0.0.1, as behind one NAT.
    w = await startTestWadi(t.database);
  });
  afterAll(async () => {
    await w?.stop();
  });

  it("the operator's valid key keeps working through the other's lockout; the wrong keys stay locked out", async () => {
    const get = (path: string, key?: string) =>
      fetch(`${w.url}${path}`, { headers: key === undefined ? {} : { 'x-admin-key': key } });
    const operator: number[] = [];
    const guesser: number[] = [];
    for (let i = 0; i < 15; i++) {
      guesser.push((await get('/admin/info', `guess-${i}-${'x'.repeat(i)}`)).status);
      operator.push((await get('/admin/health', TEST_ADMIN_KEY)).status);
    }
    expect(guesser).toEqual([...Array(10).fill(401), ...Array(5).fill(429)]);
    expect(operator).toEqual(Array(15).fill(200));
    // Still locked out without a key, with a Retry-After; the operator can act (not only read).
    const keyless = await get('/admin/info');
    expect(keyless.status).toBe(429);
    expect(Number(keyless.headers.get('retry-after'))).toBeGreaterThan(0);
    const act = await fetch(`${w.url}/admin/sessions/987654321/pause`, {
      method: 'POST',
      headers: { 'x-admin-key': TEST_ADMIN_KEY },
    });
    // Reaches the route: no such conversation (not a lockout).
    expect(act.status).toBe(404);
  });
});

describe('with REDIS_URL set but Redis unreachable', () => {
  let w: TestWadi;
  beforeAll(async () => {
    // Nothing listens on this port: every connection attempt is refused.
    const port = await freePort();
    w = await startTestWadi(t.database, { env: { REDIS_URL: `redis://127.0.0.1:${port}`, TRUST_PROXY: 'true' } });
  });
  afterAll(async () => {
    await w?.stop();
  });

  it('still locks out a client after 10 wrong keys (40 tries: 10 × 401, then 429)', async () => {
    const call = adminClient(() => w.url);
    const statuses: number[] = [];
    for (let i = 0; i < 40; i++) statuses.push((await call('/admin/health', { key: `wrong-${i}` })).status);
    expect(statuses.slice(0, 10)).toEqual(Array(10).fill(401));
    expect(statuses.slice(10)).toEqual(Array(30).fill(429));
    // …while the right key from the same client still gets in, and so does another client.
    expect((await call('/admin/health')).status).toBe(200);
    expect((await call('/admin/health', { key: 'wrong-again' })).status).toBe(429);
    expect((await adminClient(() => w.url)('/admin/health')).status).toBe(200);
  });

  it('says so in readiness: Redis is a warning and limits count per process', async () => {
    const res = await fetch(`${w.url}/health/ready`);
    const body = (await res.json()) as {
      status: string;
      checks: Record<string, { status: string; output?: string }[]>;
    };
    expect(res.status).toBe(200);
    expect(body.status).toBe('warn');
    const redis = body.checks['redis:connection']?.[0];
    expect(redis?.status).toBe('warn');
    expect(redis?.output).toContain('admin lockout count per process');
  });
});

describe('IPv6 clients', () => {
  let w: TestWadi;
  beforeAll(async () => {
    w = await startTestWadi(t.database, { env: { TRUST_PROXY: 'true' } });
  });
  afterAll(async () => {
    await w?.stop();
  });

  it('are locked out per /64: a fresh address from the same /64 does not reset the count', async () => {
    const call = adminClient(() => w.url);
    for (let i = 1; i <= 10; i++) {
      expect((await call('/admin/health', { key: `guess-${i}`, ip: `2001:db8:7:9::${i.toString(16)}` })).status).toBe(
        401,
      );
    }
    expect((await call('/admin/health', { key: 'guess-x', ip: '2001:db8:7:9:ffff:1234:5678:9abc' })).status).toBe(429);
    // The neighbouring /64 is somebody else.
    expect((await call('/admin/health', { ip: '2001:db8:7:a::1' })).status).toBe(200);
  });
});
