import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestDb, testDatabase } from '../../../test/helpers/db.ts';
import { startTestWadi, type TestWadi, testConfig } from '../../../test/helpers/wadi.ts';
import { createWadi } from '../../app/wadi.ts';
import type { ModuleFactory } from '../../platform/context.ts';

const ADMIN_ORIGIN = 'https://admin.example.com';
const INTERNAL = 'relation "secret_table" does not exist at /srv/wadi/src/db.ts:42';

/** Routes standing in for features other helpers build, plus a way to stall the event loop. */
const testRoutes: ModuleFactory = () => ({
  name: 'test-routes',
  plugins: [
    async (app) => {
      app.get('/admin/ping', async () => ({ ok: true }));
      app.post('/webhooks/test', async () => ({ ok: true }));
      app.get('/metrics', async () => 'up 1\n');
      app.get('/test/boom', async () => {
        throw new Error(INTERNAL);
      });
      app.post('/test/echo', async (req) => ({ bytes: JSON.stringify(req.body).length }));
      app.get('/test/block', async (req) => {
        // A busy loop: nothing else runs on this process until it ends.
        const ms = Number((req.query as { ms?: string }).ms ?? 0);
        const end = Date.now() + Math.min(ms, 5000);
        while (Date.now() < end) {
          // spin
        }
        return { blocked: ms };
      });
    },
  ],
});

describe('security layer on a running WADI', () => {
  let t: TestDb;
  let w: TestWadi;
  beforeAll(async () => {
    t = await testDatabase();
    w = await startTestWadi(t.database, {
      env: { CORS_ORIGINS: ADMIN_ORIGIN },
      features: ['security'],
      extraModules: [testRoutes],
    });
  });
  afterAll(async () => {
    await w?.stop();
    await t?.drop();
  });

  it('sends helmet headers with a CSP the dashboard works under, HSTS, and no x-powered-by', async () => {
    for (const path of ['/health/live', '/admin/ping', '/nope']) {
      const res = await fetch(`${w.url}${path}`);
      const csp = res.headers.get('content-security-policy') ?? '';
      expect(csp).toContain("default-src 'self'");
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("style-src 'self'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).not.toContain('unsafe-inline');
      expect(csp).not.toContain('unsafe-eval');
      expect(res.headers.get('strict-transport-security')).toBe('max-age=31536000; includeSubDomains');
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('x-frame-options')).toBe('DENY');
      expect(res.headers.get('referrer-policy')).toBe('no-referrer');
      expect(res.headers.get('x-powered-by')).toBeNull();
      await res.arrayBuffer();
    }
  });

  it('allows the configured origin on /admin, exactly, and answers its preflight', async () => {
    const pre = await fetch(`${w.url}/admin/ping`, {
      method: 'OPTIONS',
      headers: {
        origin: ADMIN_ORIGIN,
        'access-control-request-method': 'GET',
        'access-control-request-headers': 'x-admin-key',
      },
    });
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-origin')).toBe(ADMIN_ORIGIN);
    expect(pre.headers.get('access-control-allow-headers')).toContain('x-admin-key');
    expect(pre.headers.get('access-control-allow-methods')).toContain('GET');
    const res = await fetch(`${w.url}/admin/ping`, { headers: { origin: ADMIN_ORIGIN } });
    expect(res.headers.get('access-control-allow-origin')).toBe(ADMIN_ORIGIN);
    expect(res.headers.get('vary')).toContain('Origin');
  });

  it('never reflects an unknown or look-alike origin', async () => {
    for (const origin of ['https://evil.example.com', `${ADMIN_ORIGIN}.evil.com`, 'http://admin.example.com', 'null']) {
      const pre = await fetch(`${w.url}/admin/ping`, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'GET' },
      });
      expect(pre.status).toBe(403);
      expect(pre.headers.get('access-control-allow-origin')).toBeNull();
      const res = await fetch(`${w.url}/admin/ping`, { headers: { origin } });
      expect(res.headers.get('access-control-allow-origin')).toBeNull();
    }
  });

  it('sends no CORS headers from webhooks, probes or metrics, even to the admin origin', async () => {
    for (const [method, path] of [
      ['POST', '/webhooks/test'],
      ['GET', '/health/live'],
      ['GET', '/health/ready'],
      ['GET', '/metrics'],
    ] as const) {
      const res = await fetch(`${w.url}${path}`, {
        method,
        headers: { origin: ADMIN_ORIGIN, 'content-type': 'application/json' },
        body: method === 'POST' ? '{}' : undefined,
      });
      for (const h of res.headers.keys()) expect(h).not.toMatch(/^access-control-/);
      const pre = await fetch(`${w.url}${path}`, {
        method: 'OPTIONS',
        headers: { origin: ADMIN_ORIGIN, 'access-control-request-method': method },
      });
      expect(pre.status).toBe(405);
      for (const h of pre.headers.keys()) expect(h).not.toMatch(/^access-control-/);
    }
  });

  it('answers 405 with Allow for a known path and the wrong method, 404 for unknown paths', async () => {
    const res = await fetch(`${w.url}/webhooks/test`, { method: 'GET' });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('POST');
    expect(await res.json()).toEqual({
      error: { code: 'method_not_allowed', message: 'GET is not allowed on /webhooks/test' },
    });
    const del = await fetch(`${w.url}/health/live`, { method: 'DELETE' });
    expect(del.status).toBe(405);
    expect(del.headers.get('allow')).toBe('GET, HEAD');
    expect((await fetch(`${w.url}/nothing/here`, { method: 'DELETE' })).status).toBe(404);
    expect((await fetch(`${w.url}/admin/nothing`)).status).toBe(404);
  });

  it('keeps internals and stacks out of error responses', async () => {
    const res = await fetch(`${w.url}/test/boom`);
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(JSON.parse(text)).toEqual({ error: { code: 'internal', message: 'internal error' } });
    expect(text).not.toContain('secret_table');
    expect(res.headers.get('content-security-policy')).toBeTruthy();
    // The full context still reaches the log for the operator.
    expect(w.logs.text()).toContain('secret_table');
  });

  it('refuses bodies over the global 1 MB limit with 413 and a JSON error', async () => {
    const big = JSON.stringify({ x: 'a'.repeat(1024 * 1024) });
    const res = await fetch(`${w.url}/test/echo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: big,
    });
    expect(res.status).toBe(413);
    expect(await res.json()).toEqual({
      error: { code: 'payload_too_large', message: 'the request body is too large' },
    });
    const ok = await fetch(`${w.url}/test/echo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ x: 'a'.repeat(900 * 1024) }),
    });
    expect(ok.status).toBe(200);
  });
});

describe('load shedding', () => {
  let t: TestDb;
  let w: TestWadi;
  beforeAll(async () => {
    t = await testDatabase();
    // Its own WADI: a low limit on a busy shared machine must not shed the other tests' requests.
    // Sampling every 500 ms (≤ 50 samples of ~10 ms), a 5 s stall raises the mean above 80 ms, and
    // the shedding lasts a whole interval: long enough to observe on a busy machine.
    w = await startTestWadi(t.database, {
      env: { SHED_MAX_EVENT_LOOP_DELAY_MS: '80' },
      features: ['security'],
      extraModules: [testRoutes],
      security: { sampleIntervalMs: 500 },
    });
  });
  afterAll(async () => {
    await w?.stop();
    await t?.drop();
  });

  it('sheds load with 503 + Retry-After after the event loop stalls, while probes keep answering', async () => {
    const blocked = await fetch(`${w.url}/test/block?ms=5000`);
    expect(blocked.status).toBe(200);
    // The stall shows up at the next sample and lasts one sampling interval (500 ms): poll in
    // batches (a normal route and the three exempt ones at once) until a batch sees it, for ≤ 3 s.
    const get = async (path: string) => {
      const r = await fetch(`${w.url}${path}`);
      return { status: r.status, retryAfter: r.headers.get('retry-after'), body: await r.text() };
    };
    let batch: Awaited<ReturnType<typeof get>>[] = [];
    const until = Date.now() + 3000;
    while (Date.now() < until && batch[0]?.status !== 503) {
      batch = await Promise.all(['/admin/ping', '/health/live', '/health/ready', '/metrics'].map(get));
    }
    const [normal, live, ready, metrics] = batch;
    expect(normal).toEqual({
      status: 503,
      retryAfter: '10',
      body: JSON.stringify({ error: { code: 'overloaded', message: 'the server is overloaded; retry later' } }),
    });
    expect([live?.status, ready?.status, metrics?.status]).toEqual([200, 200, 200]);
    // Once the loop is healthy again, requests are served.
    let status = 0;
    for (let i = 0; i < 100 && status !== 200; i++) {
      await new Promise((r) => setTimeout(r, 100));
      status = (await fetch(`${w.url}/admin/ping`)).status;
    }
    expect(status).toBe(200);
  });
});

describe('secrets stay out of responses and logs under the security layer', () => {
  it('never writes a configured secret to a log line or a response', async () => {
    const t = await testDatabase();
    const env = {
      METRICS_TOKEN: 'metrics-token-0123456789abcdef',
      WHATSAPP_VERIFY_TOKEN: 'verify-token-0123456789abcdef',
      OPENAI_API_KEY: 'sk-test-0123456789abcdefghijkl',
      ALERT_SLACK_WEBHOOK_URL: 'https://hooks.slack.com/services/T000/B000/secretsecret',
    };
    const leaky: ModuleFactory = (ctx) => ({
      name: 'leaky',
      plugins: [
        async (app) => {
          // A careless route that puts secrets into an error message.
          app.get('/test/leak', async () => {
            throw new Error(`upstream refused ${ctx.config.env.OPENAI_API_KEY} and ${ctx.config.env.METRICS_TOKEN}`);
          });
        },
      ],
    });
    const w = await startTestWadi(t.database, { env, features: ['security'], extraModules: [testRoutes, leaky] });
    try {
      const bodies: string[] = [];
      for (const [path, headers] of [
        ['/test/leak', {}],
        [`/webhooks/test?hub.verify_token=${env.WHATSAPP_VERIFY_TOKEN}`, {}],
        ['/metrics', { authorization: `Bearer ${env.METRICS_TOKEN}` }],
        ['/admin/ping', { 'x-admin-key': w.wadi.config.admin.keys[0] as string }],
      ] as const) {
        const res = await fetch(`${w.url}${path}`, { headers });
        bodies.push(await res.text(), JSON.stringify([...res.headers]));
      }
      const secrets = w.wadi.config.secrets;
      expect(secrets.length).toBeGreaterThanOrEqual(5);
      expect(w.logs.lines.length).toBeGreaterThan(3);
      for (const secret of secrets) {
        expect(w.logs.text()).not.toContain(secret);
        for (const b of bodies) expect(b).not.toContain(secret);
      }
    } finally {
      await w.stop();
      await t.drop();
    }
  });
});

describe('https redirect behind a proxy', () => {
  let t: TestDb;
  beforeAll(async () => {
    t = await testDatabase();
  });
  afterAll(async () => {
    await t?.drop();
  });

  it('redirects plain-http requests to PUBLIC_URL with 308, except probes and metrics', async () => {
    const config = testConfig({ TRUST_PROXY: 'true', PUBLIC_URL: 'https://wadi.example.com' });
    const wadi = await createWadi(config, { database: t.database, features: ['security'], extraModules: [testRoutes] });
    try {
      await wadi.app.ready();
      const viaHttp = { 'x-forwarded-proto': 'http', host: 'attacker.example.net' };
      const res = await wadi.app.inject({ method: 'POST', url: '/webhooks/test?a=1', headers: viaHttp, payload: {} });
      expect(res.statusCode).toBe(308);
      expect(res.headers.location).toBe('https://wadi.example.com/webhooks/test?a=1');
      for (const url of ['/health/live', '/health/ready', '/metrics']) {
        expect((await wadi.app.inject({ method: 'GET', url, headers: viaHttp })).statusCode).toBe(200);
      }
      const viaHttps = await wadi.app.inject({
        method: 'GET',
        url: '/admin/ping',
        headers: { 'x-forwarded-proto': 'https' },
      });
      expect(viaHttps.statusCode).toBe(200);
      // Direct traffic that did not pass the proxy (no X-Forwarded-Proto) is served as is.
      expect((await wadi.app.inject({ method: 'GET', url: '/admin/ping' })).statusCode).toBe(200);
    } finally {
      await wadi.stop();
    }
  });

  it('does not redirect without TRUST_PROXY (the header could be forged)', async () => {
    const wadi = await createWadi(testConfig(), {
      database: t.database,
      features: ['security'],
      extraModules: [testRoutes],
    });
    try {
      await wadi.app.ready();
      const res = await wadi.app.inject({
        method: 'GET',
        url: '/admin/ping',
        headers: { 'x-forwarded-proto': 'http' },
      });
      expect(res.statusCode).toBe(200);
    } finally {
      await wadi.stop();
    }
  });

  it('honours HSTS_MAX_AGE and HSTS_PRELOAD', async () => {
    const config = testConfig({ HSTS_MAX_AGE: '63072000', HSTS_PRELOAD: 'true' });
    const wadi = await createWadi(config, { database: t.database, features: ['security'] });
    try {
      await wadi.app.ready();
      const res = await wadi.app.inject({ method: 'GET', url: '/health/live' });
      expect(res.headers['strict-transport-security']).toBe('max-age=63072000; includeSubDomains; preload');
    } finally {
      await wadi.stop();
    }
  });
});
