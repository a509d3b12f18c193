import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresUrl, type TestDb, testDatabase } from '../../test/helpers/db.ts';
import { startTestWadi, type TestWadi, testConfig } from '../../test/helpers/wadi.ts';
import { createWadi } from '../app/wadi.ts';
import { openDatabase } from '../db/client.ts';
import type { WadiModule } from '../kernel/module.ts';

describe('probes and HTTP basics', () => {
  let t: TestDb;
  let w: TestWadi;
  beforeAll(async () => {
    t = await testDatabase();
    w = await startTestWadi(t.database);
  });
  afterAll(async () => {
    await w.stop();
    await t.drop();
  });

  it('answers liveness without touching dependencies', async () => {
    const res = await fetch(`${w.url}/health/live`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'pass' });
  });

  it('answers readiness as application/health+json with each check', async () => {
    const res = await fetch(`${w.url}/health/ready`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('application/health+json');
    const body = (await res.json()) as { status: string; checks: Record<string, { status: string }[]> };
    expect(body.status).toBe('pass');
    expect(body.checks['database:responseTime'][0].status).toBe('pass');
    expect(body.checks['database:migrations'][0].status).toBe('pass');
  });

  it('honours a sane x-request-id and replaces a hostile one', async () => {
    const ok = await fetch(`${w.url}/health/live`, { headers: { 'x-request-id': 'abc-123' } });
    expect(ok.headers.get('x-request-id')).toBe('abc-123');
    const bad = await fetch(`${w.url}/health/live`, { headers: { 'x-request-id': 'a b\tc'.repeat(60) } });
    expect(bad.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('answers unknown routes with a JSON error and no internals', async () => {
    const res = await fetch(`${w.url}/nope?x=1`);
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: { code: 'not_found', message: 'no route for GET /nope' } });
  });
});

describe.runIf(postgresUrl())('readiness with the database down', () => {
  it('is 503 with the database check failing when PostgreSQL is unreachable', async () => {
    const database = await openDatabase({ url: 'postgres://postgres@127.0.0.1:1/none', poolSize: 1 });
    const wadi = await createWadi(testConfig(), { database, migrate: false, features: [] });
    await wadi.app.ready();
    const res = await wadi.app.inject({ method: 'GET', url: '/health/ready' });
    expect(res.statusCode).toBe(503);
    const body = res.json() as { status: string; checks: Record<string, { status: string }[]> };
    expect(body.status).toBe('fail');
    expect(body.checks['database:responseTime'][0].status).toBe('fail');
    expect((await wadi.app.inject({ method: 'GET', url: '/health/live' })).statusCode).toBe(200);
    await wadi.stop();
    await database.close();
  });
});

describe('graceful shutdown', () => {
  it('fails readiness, lets an in-flight request finish, then closes', async () => {
    const t = await testDatabase();
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const slow = (): WadiModule => ({
      name: 'slow',
      plugins: [
        async (app) => {
          app.get('/slow', async () => {
            await gate;
            return { done: true };
          });
        },
      ],
    });
    const w = await startTestWadi(t.database, { features: [], extraModules: [slow] });
    const inflight = fetch(`${w.url}/slow`);
    await new Promise((r) => setTimeout(r, 100));
    const stopping = w.stop();
    await new Promise((r) => setTimeout(r, 50));
    expect(w.wadi.health.isShuttingDown).toBe(true);
    const ready = await w.wadi.health.ready();
    expect(ready.status).toBe('fail');
    release();
    const res = await inflight;
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ done: true });
    await stopping;
    await t.drop();
  });
});

describe('secrets in logs', () => {
  it('never writes a configured token to any log line', async () => {
    const t = await testDatabase();
    const token = '987654:AAE-secret-bot-token-value-xyz';
    const apiKey = 'sk-test-openai-key-abcdefghijkl';
    const leaky = (): WadiModule => ({
      name: 'leaky',
      plugins: [
        async (app) => {
          app.get('/leak', async (req) => {
            req.log.info({ url: `https://api.telegram.org/bot${token}/getMe`, apiKey }, `using ${token}`);
            throw new Error(`upstream rejected ${apiKey}`);
          });
        },
      ],
    });
    const w = await startTestWadi(t.database, {
      features: [],
      extraModules: [leaky],
      env: { TELEGRAM_BOT_TOKEN: token, TELEGRAM_MODE: 'polling', OPENAI_API_KEY: apiKey, WADI_SANDBOX: 'false' },
    });
    const res = await fetch(`${w.url}/leak`, {
      headers: { authorization: `Bearer ${apiKey}`, 'x-admin-key': 'whatever' },
    });
    expect(res.status).toBe(500);
    const body = await res.text();
    expect(body).not.toContain(apiKey);
    expect(body).not.toContain('upstream');
    await w.stop();
    const text = w.logs.text();
    expect(text).toContain('upstream rejected');
    expect(text).not.toContain(token);
    expect(text).not.toContain(apiKey);
    await t.drop();
  });
});
