import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestDb, testDatabase } from '../../../test/helpers/db.ts';
import { startTestWadi, TEST_ADMIN_KEY, type TestWadi, testConfig } from '../../../test/helpers/wadi.ts';
import { createWadi } from '../../app/wadi.ts';
import type { ModuleFactory } from '../../platform/context.ts';

const ADMIN_ORIGIN = 'https://admin.example.com';

const KEY = { 'x-admin-key': TEST_ADMIN_KEY };

/** Blocks this process's event loop (the in-process WADI's too) for `ms`. */
function stall(ms: number): void {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    // spin
  }
}

describe('security layer on the real routes of a running WADI', () => {
  let t: TestDb;
  let w: TestWadi;
  beforeAll(async () => {
    t = await testDatabase();
    w = await startTestWadi(t.database, { env: { CORS_ORIGINS: ADMIN_ORIGIN } });
  });
  afterAll(async () => {
    await w?.stop();
    await t?.drop();
  });

  it('sends helmet headers with a CSP the dashboard works under, HSTS, and no x-powered-by', async () => {
    for (const [path, headers] of [
      ['/health/live', {}],
      ['/admin/health', KEY],
      ['/admin/openapi.json', KEY],
      ['/admin/health', {}],
      ['/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=1', {}],
      ['/nope', {}],
    ] as const) {
      const res = await fetch(`${w.url}${path}`, { headers });
      const csp = res.headers.get('content-security-policy') ?? '';
      expect(csp, path).toContain("default-src 'self'");
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
    const pre = await fetch(`${w.url}/admin/health`, {
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
    const res = await fetch(`${w.url}/admin/health`, { headers: { origin: ADMIN_ORIGIN, ...KEY } });
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe(ADMIN_ORIGIN);
    expect(res.headers.get('vary')).toContain('Origin');
  });

  it('never reflects an unknown or look-alike origin', async () => {
    for (const origin of ['https://evil.example.com', `${ADMIN_ORIGIN}.evil.com`, 'http://admin.example.com', 'null']) {
      const pre = await fetch(`${w.url}/admin/sessions`, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'GET' },
      });
      expect(pre.status).toBe(403);
      expect(pre.headers.get('access-control-allow-origin')).toBeNull();
      const res = await fetch(`${w.url}/admin/sessions`, { headers: { origin, ...KEY } });
      expect(res.headers.get('access-control-allow-origin')).toBeNull();
    }
  });

  it('sends no CORS headers from webhooks, probes or metrics, even to the admin origin', async () => {
    for (const [method, path] of [
      ['POST', '/webhooks/whatsapp'],
      ['POST', '/webhooks/telegram'],
      ['GET', '/health/live'],
      ['GET', '/health/ready'],
      ['GET', '/metrics'],
    ] as const) {
      const res = await fetch(`${w.url}${path}`, {
        method,
        headers: { origin: ADMIN_ORIGIN, 'content-type': 'application/json' },
        body: method === 'POST' ? '{}' : undefined,
      });
      for (const h of res.headers.keys()) expect(h, path).not.toMatch(/^access-control-/);
      const pre = await fetch(`${w.url}${path}`, {
        method: 'OPTIONS',
        headers: { origin: ADMIN_ORIGIN, 'access-control-request-method': method },
      });
      expect(pre.status, path).toBe(405);
      for (const h of pre.headers.keys()) expect(h).not.toMatch(/^access-control-/);
    }
  });

  it('answers 405 with Allow for a known path and the wrong method, 404 for unknown paths', async () => {
    const res = await fetch(`${w.url}/webhooks/telegram`, { method: 'GET' });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('POST');
    expect(await res.json()).toEqual({
      error: { code: 'method_not_allowed', message: 'GET is not allowed on /webhooks/telegram' },
    });
    const put = await fetch(`${w.url}/webhooks/whatsapp`, { method: 'PUT' });
    expect(put.status).toBe(405);
    expect(put.headers.get('allow')).toBe('GET, HEAD, POST');
    const del = await fetch(`${w.url}/health/live`, { method: 'DELETE' });
    expect(del.status).toBe(405);
    expect(del.headers.get('allow')).toBe('GET, HEAD');
    expect((await fetch(`${w.url}/nothing/here`, { method: 'DELETE' })).status).toBe(404);
    expect((await fetch(`${w.url}/admin/nothing`, { headers: KEY })).status).toBe(404);
  });

  it('keeps internals and stacks out of error responses of a real route that fails', async () => {
    // A broken database (the table gone) makes the real sessions route fail with an internal error.
    await t.database.query('alter table conversations rename to conversations_hidden');
    try {
      const res = await fetch(`${w.url}/admin/sessions`, { headers: KEY });
      expect(res.status).toBe(500);
      const text = await res.text();
      expect(JSON.parse(text)).toEqual({ error: { code: 'internal', message: 'internal error' } });
      expect(text).not.toContain('conversations');
      expect(text).not.toContain('.ts:');
      expect(res.headers.get('content-security-policy')).toBeTruthy();
    } finally {
      await t.database.query('alter table conversations_hidden rename to conversations');
    }
    // The full context still reaches the log for the operator.
    expect(w.logs.text()).toContain('relation \\"conversations\\" does not exist');
  });

  it('refuses bodies over the global 1 MB limit with 413 and a JSON error', async () => {
    const post = (body: string) =>
      fetch(`${w.url}/admin/sessions/999999/pause`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...KEY },
        body,
      });
    const res = await post(JSON.stringify({ x: 'a'.repeat(1024 * 1024) }));
    expect(res.status).toBe(413);
    expect(await res.json()).toEqual({
      error: { code: 'payload_too_large', message: 'the request body is too large' },
    });
    // Under the limit the body is read and the route answers (no such session).
    const ok = await post(JSON.stringify({ x: 'a'.repeat(900 * 1024) }));
    expect(ok.status).not.toBe(413);
    await ok.arrayBuffer();
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
      security: { sampleIntervalMs: 500 },
    });
  });
  afterAll(async () => {
    await w?.stop();
    await t?.drop();
  });

  it('sheds load with 503 + Retry-After after the event loop stalls, while probes keep answering', async () => {
    // The WADI runs in this process: stalling the test stalls it.
    stall(5000);
    // The stall shows up at the next sample and lasts one sampling interval (500 ms): poll in
    // batches (a real admin route and the three exempt ones at once) until a batch sees it, for ≤ 3 s.
    const get = async (path: string, headers: Record<string, string> = {}) => {
      const r = await fetch(`${w.url}${path}`, { headers });
      return { status: r.status, retryAfter: r.headers.get('retry-after'), body: await r.text() };
    };
    let batch: Awaited<ReturnType<typeof get>>[] = [];
    const until = Date.now() + 3000;
    while (Date.now() < until && batch[0]?.status !== 503) {
      batch = await Promise.all([
        get('/admin/health', KEY),
        get('/health/live'),
        get('/health/ready'),
        get('/metrics'),
      ]);
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
      status = (await fetch(`${w.url}/admin/health`, { headers: KEY })).status;
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
    const w = await startTestWadi(t.database, { env, extraModules: [leaky] });
    try {
      const bodies: string[] = [];
      for (const [path, headers] of [
        ['/test/leak', {}],
        [`/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=${env.WHATSAPP_VERIFY_TOKEN}&hub.challenge=7`, {}],
        ['/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=wrong-token&hub.challenge=7', {}],
        ['/metrics', { authorization: `Bearer ${env.METRICS_TOKEN}` }],
        ['/admin/health', { 'x-admin-key': w.wadi.config.admin.keys[0] as string }],
        ['/admin/logs', { 'x-admin-key': w.wadi.config.admin.keys[0] as string }],
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

  it('redirects plain-http requests on the real routes to PUBLIC_URL with 308, except probes and metrics', async () => {
    const config = testConfig({ TRUST_PROXY: '1', PUBLIC_URL: 'https://wadi.example.com' });
    const wadi = await createWadi(config, { database: t.database });
    try {
      await wadi.app.ready();
      const viaHttp = { 'x-forwarded-proto': 'http', host: 'attacker.example.net', 'x-forwarded-host': 'evil.example' };
      for (const [method, url] of [
        ['POST', '/webhooks/whatsapp?a=1'],
        ['POST', '/webhooks/telegram'],
        ['GET', '/webhooks/whatsapp?hub.mode=subscribe'],
        ['GET', '/admin/health'],
      ] as const) {
        const res = await wadi.app.inject({
          method,
          url,
          headers: viaHttp,
          payload: method === 'POST' ? {} : undefined,
        });
        expect(res.statusCode, url).toBe(308);
        expect(res.headers.location).toBe(`https://wadi.example.com${url}`);
        expect(res.headers['cache-control']).toBe('no-store');
      }
      for (const url of ['/health/live', '/health/ready', '/metrics']) {
        expect((await wadi.app.inject({ method: 'GET', url, headers: viaHttp })).statusCode).toBe(200);
      }
      const viaHttps = await wadi.app.inject({
        method: 'GET',
        url: '/admin/health',
        headers: { 'x-forwarded-proto': 'https', ...KEY },
      });
      expect(viaHttps.statusCode).toBe(200);
      // Direct traffic that did not pass the proxy (no X-Forwarded-Proto) is served as is.
      expect((await wadi.app.inject({ method: 'GET', url: '/admin/health', headers: KEY })).statusCode).toBe(200);
    } finally {
      await wadi.stop();
    }
  });

  it('never redirects to X-Forwarded-Host (open redirect), even without PUBLIC_URL in development', async () => {
    const wadi = await createWadi(testConfig({ TRUST_PROXY: '1' }), { database: t.database });
    try {
      await wadi.app.ready();
      const res = await wadi.app.inject({
        method: 'GET',
        url: '/admin/health',
        headers: { 'x-forwarded-proto': 'http', host: 'wadi.internal:8080', 'x-forwarded-host': 'evil.example' },
      });
      expect(res.statusCode).toBe(308);
      expect(res.headers.location).toBe('https://wadi.internal:8080/admin/health');
      expect(res.headers['cache-control']).toBe('no-store');
    } finally {
      await wadi.stop();
    }
  });

  it('does not redirect without TRUST_PROXY (the header could be forged)', async () => {
    const wadi = await createWadi(testConfig(), { database: t.database });
    try {
      await wadi.app.ready();
      const res = await wadi.app.inject({
        method: 'GET',
        url: '/admin/health',
        headers: { 'x-forwarded-proto': 'http', ...KEY },
      });
      expect(res.statusCode).toBe(200);
    } finally {
      await wadi.stop();
    }
  });

  it('honours HSTS_MAX_AGE and HSTS_PRELOAD', async () => {
    const config = testConfig({ HSTS_MAX_AGE: '63072000', HSTS_PRELOAD: 'true' });
    const wadi = await createWadi(config, { database: t.database });
    try {
      await wadi.app.ready();
      const res = await wadi.app.inject({ method: 'GET', url: '/health/live' });
      expect(res.headers['strict-transport-security']).toBe('max-age=63072000; includeSubDomains; preload');
    } finally {
      await wadi.stop();
    }
  });
});
