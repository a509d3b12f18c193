import { execFileSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verdict } from '../../src/tools/load/report.ts';
import { percentile, runScenario, summarize } from '../../src/tools/load/runner.ts';
import { loadScenario, SCENARIO_NAMES, SCENARIOS_FILE, withDuration } from '../../src/tools/load/scenarios.ts';
import { TrafficGenerator } from '../../src/tools/load/traffic.ts';
import { type TestDb, testDatabase } from '../helpers/db.ts';
import { startTestWadi, type TestWadi } from '../helpers/wadi.ts';

const K6_DIR = path.resolve(import.meta.dirname, '../../load/k6');

describe('k6 scripts stay in sync with load/scenarios.json', () => {
  const file = JSON.parse(readFileSync(SCENARIOS_FILE, 'utf8'));

  it.each(SCENARIO_NAMES)('%s: same stages and thresholds as `wadi load`', async (name) => {
    const { buildOptions } = (await import(path.join(K6_DIR, 'options.js'))) as {
      buildOptions: (
        f: unknown,
        n: string,
      ) => {
        scenarios: Record<string, { executor: string; stages: { duration: string; target: number }[] }>;
        thresholds: Record<string, { threshold: string }[]>;
      };
    };
    const k6 = buildOptions(file, name);
    const ours = loadScenario(name);
    expect(k6.scenarios[name].executor).toBe('ramping-vus');
    expect(k6.scenarios[name].stages).toEqual(
      ours.stages.map((s) => ({ duration: `${s.durationSeconds}s`, target: s.target })),
    );
    expect(k6.thresholds.http_req_duration[0].threshold).toBe(`p(95)<${ours.thresholds.p95Ms}`);
    expect(k6.thresholds.http_req_failed[0].threshold).toBe(`rate<${ours.thresholds.errorRate}`);
    const script = readFileSync(path.join(K6_DIR, `${name}.js`), 'utf8');
    expect(script).toContain(`buildOptions(file, '${name}'`);
    expect(k6.thresholds.time_to_reply[0].threshold).toBe(`p(95)<=${ours.thresholds.timeToReplyP95Ms}`);
    for (const fn of ['export function setup', 'export function teardown', 'export function operator'])
      expect(script).toContain(fn);
    expect(script).toContain("open('../scenarios.json')");
  });

  it('k6 times replies from the sandbox outbox, and models dashboards as operator clients', async () => {
    const { buildOptions, replyTimes } = (await import(path.join(K6_DIR, 'options.js'))) as {
      buildOptions: (f: unknown, n: string, key?: string) => { scenarios: Record<string, { vus?: number }> };
      replyTimes: (calls: unknown[]) => { channel: string; ms: number }[];
    };
    expect(buildOptions(file, 'load').scenarios.operators).toBeUndefined();
    expect(buildOptions(file, 'load', 'k').scenarios.operators?.vus).toBe(loadScenario('load').operators.clients);
    const t0 = Date.parse('2026-01-01T00:00:00.000Z');
    expect(
      replyTimes([
        {
          kind: 'send_text',
          at: '2026-01-01T00:00:02.500Z',
          status: 200,
          body: { text: { body: `[sandbox] hola 7 @${t0}` } },
        },
        { kind: 'sendMessage', at: '2026-01-01T00:00:01.000Z', status: 200, body: { text: `[sandbox] hola 8 @${t0}` } },
        { kind: 'send_text', at: '2026-01-01T00:00:03.000Z', status: 400, body: { text: { body: `hola 9 @${t0}` } } },
        { kind: 'mark_read', at: '2026-01-01T00:00:03.000Z', status: 200, body: {} },
        { kind: 'send_text', at: '2026-01-01T00:00:03.000Z', status: 200, body: { text: { body: 'Bienvenido' } } },
      ]),
    ).toEqual([
      { channel: 'whatsapp', ms: 2500 },
      { channel: 'telegram', ms: 1000 },
    ]);
  });

  it('every k6 script parses', () => {
    for (const f of ['lib.js', 'options.js', ...SCENARIO_NAMES.map((n) => `${n}.js`)]) {
      execFileSync(process.execPath, ['--check', path.join(K6_DIR, f)]);
    }
  });

  it('scenarios meet the plan: smoke 5 users, load 50, stress past 200', () => {
    const peak = (n: (typeof SCENARIO_NAMES)[number]) => Math.max(...loadScenario(n).stages.map((s) => s.target));
    expect(peak('smoke')).toBe(5);
    expect(peak('load')).toBe(50);
    expect(peak('stress')).toBeGreaterThanOrEqual(400);
    // Time-to-reply: debounce 0.8 s + the fake LLM's p95 6 s + 1 s.
    expect(loadScenario('stress').thresholds).toEqual({ p95Ms: 500, errorRate: 0.01, timeToReplyP95Ms: 7800 });
    expect(loadScenario('load').thresholds).toEqual({ p95Ms: 200, errorRate: 0.01, timeToReplyP95Ms: 7800 });
    // Dashboards are a few operator clients, not a share of the chat traffic.
    expect(loadScenario('stress').mix.admin).toBe(0);
    expect(loadScenario('load').operators.clients).toBeGreaterThan(0);
  });
});

describe('load figures', () => {
  it('computes percentiles by nearest rank', () => {
    const v = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(v, 50)).toBe(50);
    expect(percentile(v, 95)).toBe(95);
    expect(percentile(v, 99)).toBe(99);
    expect(percentile([], 95)).toBeNull();
  });

  it('counts non-2xx, timeouts and connection errors as errors', () => {
    const s = summarize([1, 2, 3], { '200': 97, '503': 1, timeout: 1, error: 1 }, 5, 10, {
      p95Ms: 200,
      errorRate: 0.01,
    });
    expect(s.requests).toBe(100);
    expect(s.errors).toBe(3);
    expect(s.errorRate).toBe(0.03);
    expect(s.withinThresholds).toBe(false);
  });

  it('stress reports the highest user count still within thresholds', () => {
    const sc = loadScenario('stress');
    const ok = (target: number) => summarize([10], { '200': 100 }, target, 1, sc.thresholds);
    const bad = (target: number) => summarize([900], { '200': 100 }, target, 1, sc.thresholds);
    expect(verdict(sc, [ok(50), ok(100), bad(200), ok(300)], ok(300)).breakingPoint).toBe(100);
    expect(verdict(sc, [bad(50)], bad(50)).passed).toBe(false);
  });

  it('says which time-to-reply half failed: the p95, or messages left unanswered', () => {
    const sc = loadScenario('load');
    const limit = sc.thresholds.timeToReplyP95Ms as number;
    const run = summarize([10], { '200': 100 }, 50, 1, sc.thresholds);
    const ttr = (p95Ms: number, answered: number) => ({
      all: { messages: 100, answered, p50Ms: 10, p95Ms, maxMs: p95Ms },
      stages: [],
    });
    expect(verdict(sc, [run], run, ttr(limit - 1, 100))).toMatchObject({ passed: true, failures: [] });
    expect(verdict(sc, [run], run, ttr(limit - 1, 98)).failures).toEqual([
      '2 of 100 messages were not answered by the end of the run',
    ]);
    expect(verdict(sc, [run], run, ttr(limit + 1, 100)).failures).toEqual([
      `time-to-reply p95 ${limit + 1} ms is not within ${limit} ms`,
    ]);
  });

  it('scales stages to a shorter duration for CI', () => {
    const s = withDuration(loadScenario('load'), 12);
    expect(s.stages.reduce((n, st) => n + st.durationSeconds, 0)).toBeLessThanOrEqual(13);
    expect(s.stages.map((st) => st.target)).toEqual(loadScenario('load').stages.map((st) => st.target));
  });

  it('signs WhatsApp bodies and gives every event a unique id', () => {
    const gen = new TrafficGenerator(loadScenario('smoke'), {
      whatsappAppSecret: 's3cret',
      telegramWebhookSecret: 't',
    });
    const ids = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const r = gen.next();
      if (r.kind === 'whatsapp') {
        const body = JSON.parse(r.body ?? '{}');
        ids.add(body.entry[0].changes[0].value.messages[0].id);

        expect(r.headers['x-hub-signature-256']).toBe(
          `sha256=${createHmac('sha256', 's3cret')
            .update(r.body ?? '')
            .digest('hex')}`,
        );
      } else if (r.kind === 'telegram') {
        ids.add(String(JSON.parse(r.body ?? '{}').update_id));
        expect(r.headers['x-telegram-bot-api-secret-token']).toBe('t');
      }
    }
    expect(ids.size).toBeGreaterThan(100);
  });
});

describe('a short run against a live WADI', () => {
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

  it('measures every response and passes within thresholds', async () => {
    const scenario = {
      ...withDuration(loadScenario('smoke'), 2),
      thinkTimeMs: 100,
      mix: { whatsapp: 0, telegram: 0, health: 1, admin: 0 },
    };
    const { stages, overall } = await runScenario({
      url: w.url,
      scenario,
      traffic: new TrafficGenerator(scenario, {}),
    });
    expect(stages).toHaveLength(1);
    expect(overall.requests).toBeGreaterThan(10);
    expect(overall.statuses['200']).toBe(overall.requests);
    expect(overall.p95Ms).not.toBeNull();
  });
});
