import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestDb, testDatabase } from '../../../test/helpers/db.ts';
import { promtool, promtoolPath } from '../../../test/helpers/promtool.ts';
import { startTestWadi, type TestWadi } from '../../../test/helpers/wadi.ts';
import type { ModuleFactory } from '../../platform/context.ts';
import { metrics } from './metrics.ts';

// A route with a path parameter, to prove labels carry the template and never the raw id.
const items: ModuleFactory = () => ({
  name: 'items',
  plugins: [
    async (app) => {
      app.get('/items/:id', async (req, reply) => {
        const { id } = req.params as { id: string };
        if (id === 'boom') return reply.status(500).send({ error: { code: 'x', message: 'x' } });
        return { id };
      });
    },
  ],
});

const TOKEN = 'metrics-token-0123456789abcdef';

async function traffic(url: string): Promise<void> {
  for (let i = 0; i < 20; i++) await (await fetch(`${url}/items/user-${i}`)).text();
  await (await fetch(`${url}/items/boom`)).text();
  await (await fetch(`${url}/wp-admin/+34600111222`)).text();
  await (await fetch(`${url}/health/live`)).text();
  // Also record outcomes other features would, so their series exist in the exposition.
  metrics.webhookEvents.inc({ channel: 'telegram', outcome: 'accepted' });
  metrics.outboundMessages.inc({ channel: 'whatsapp', outcome: 'sent' });
  metrics.llmDuration.observe({ outcome: 'ok' }, 1.2);
  metrics.llmTokens.inc({ kind: 'prompt' }, 120);
  metrics.replyLatency.observe({ channel: 'telegram' }, 2.5);
}

describe('/metrics after real traffic', () => {
  let t: TestDb;
  let w: TestWadi;
  beforeAll(async () => {
    t = await testDatabase();
    w = await startTestWadi(t.database, { extraModules: [items], role: 'web' });
    await traffic(w.url);
  });
  afterAll(async () => {
    await w?.stop();
    await t?.drop();
  });

  it('labels requests by route template, groups unknown routes, and keeps ids out of labels', async () => {
    const res = await fetch(`${w.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const body = await res.text();
    expect(body).toMatch(
      /http_request_duration_seconds_count\{method="GET",route="\/items\/:id",status_code="200"\} 20/,
    );
    expect(body).toMatch(
      /http_request_duration_seconds_count\{method="GET",route="\/items\/:id",status_code="500"\} 1/,
    );
    expect(body).toMatch(/http_request_duration_seconds_count\{method="GET",route="unmatched",status_code="404"\} 1/);
    expect(body).not.toContain('user-1');
    expect(body).not.toContain('600111222');
    for (const name of [
      'wadi_webhook_events_total',
      'wadi_inbox_pending',
      'wadi_inbox_oldest_pending_seconds',
      'wadi_outbound_messages_total',
      'wadi_reply_latency_seconds_bucket',
      'wadi_llm_request_duration_seconds_bucket',
      'wadi_llm_tokens_total',
      'wadi_alerts_firing{alert="HighErrorRate"}',
      'wadi_backup_last_success_timestamp_seconds',
      'wadi_cpu_limit_cores',
      'wadi_memory_limit_bytes',
      'process_cpu_seconds_total',
      'process_resident_memory_bytes',
      'nodejs_eventloop_lag_seconds',
    ]) {
      expect(body, name).toContain(name);
    }
  });

  it('feeds the windowed stats, leaving probes and /metrics out', async () => {
    const stats = w.wadi.wiring.admin.stats;
    const oneMinute = stats?.windows()['1m'];
    // 20 ok + 1 500 + 1 unmatched 404; /health/live and /metrics are not user traffic.
    expect(oneMinute?.requests).toBe(22);
    expect(oneMinute?.errorRate).toBeCloseTo(2 / 22, 3);
    expect(oneMinute?.p95Ms).toBeGreaterThan(0);
    expect(stats?.series(60)).toHaveLength(60);
  });

  it.runIf(promtoolPath())('passes `promtool check metrics` for every WADI metric', async () => {
    const body = await (await fetch(`${w.url}/metrics`)).text();
    const r = promtool(['check', 'metrics'], body);
    // prom-client's own Node.js metrics are not ours to rename; WADI's must be clean.
    const ours = r.output.split('\n').filter((l) => /^(http_request_duration_seconds|wadi_)/.test(l.trim()));
    expect(ours, r.output).toEqual([]);
  });
});

describe('METRICS_TOKEN', () => {
  let t: TestDb;
  let w: TestWadi;
  beforeAll(async () => {
    t = await testDatabase();
    w = await startTestWadi(t.database, { env: { METRICS_TOKEN: TOKEN } });
  });
  afterAll(async () => {
    await w?.stop();
    await t?.drop();
  });

  it('answers 401 without the right bearer token and 200 with it', async () => {
    const none = await fetch(`${w.url}/metrics`);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toContain('Bearer');
    const body = await none.text();
    expect(body).not.toContain('http_request_duration_seconds');
    expect(body).not.toContain(TOKEN);
    for (const auth of [`Bearer ${TOKEN}x`, `Bearer ${TOKEN.slice(0, -1)}`, TOKEN, 'Bearer ', `Basic ${TOKEN}`]) {
      expect((await fetch(`${w.url}/metrics`, { headers: { authorization: auth } })).status, auth).toBe(401);
    }
    const ok = await fetch(`${w.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain('http_request_duration_seconds');
    expect(w.logs.text()).not.toContain(TOKEN);
  });
});
