import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { drawLatencyMs, INSTANT, type LatencyModel, REALISTIC } from './latency.ts';
import { sandboxPlugin } from './module.ts';
import { SandboxState } from './state.ts';

/** A seeded uniform generator (mulberry32), so the draws are reproducible. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const quantile = (v: number[], q: number) => [...v].sort((a, b) => a - b)[Math.floor(q * (v.length - 1))];

describe('fake LLM latency model', () => {
  it('instant answers at once', () => {
    expect(drawLatencyMs(INSTANT, 500)).toBe(0);
  });

  it('log-normal draws have the configured median and p95, never above the cap', () => {
    const rnd = seeded(42);
    const draws = Array.from({ length: 20_000 }, () => drawLatencyMs(REALISTIC, 20, rnd));
    expect(quantile(draws, 0.5)).toBeGreaterThan(1500 * 0.95);
    expect(quantile(draws, 0.5)).toBeLessThan(1500 * 1.05);
    expect(quantile(draws, 0.95)).toBeGreaterThan(6000 * 0.92);
    expect(quantile(draws, 0.95)).toBeLessThan(6000 * 1.08);
    expect(Math.max(...draws)).toBeLessThanOrEqual(4 * 6000);
    expect(Math.min(...draws)).toBeGreaterThan(0);
  });

  it('adds the completion at tokens per second', () => {
    const m: LatencyModel = { mode: 'lognormal', medianMs: 100, p95Ms: 100, tokensPerSecond: 50, maxMs: 0 };
    expect(drawLatencyMs(m, 100, seeded(1))).toBeCloseTo(100 + 2000, 5);
  });

  it('PUT /sandbox/llm/latency sets the model, refuses a bad one and changes nothing then', async () => {
    const state = new SandboxState();
    const app = Fastify();
    await app.register(sandboxPlugin(state));
    const put = (payload: unknown) =>
      app.inject({ method: 'PUT', url: '/sandbox/llm/latency', payload: payload as object });
    expect((await app.inject({ method: 'GET', url: '/sandbox/llm/latency' })).json()).toMatchObject({
      mode: 'instant',
    });
    const ok = await put({ mode: 'lognormal', median_ms: 40, p95_ms: 60 });
    expect(ok.statusCode).toBe(200);
    expect(state.llmLatency).toMatchObject({ mode: 'lognormal', medianMs: 40, p95Ms: 60 });
    for (const bad of [{ mode: 'lognormal', median_ms: 100, p95_ms: 50 }, { mode: 'slow' }, { mode: 'lognormal' }]) {
      const r = await put(bad);
      expect(r.statusCode).toBe(400);
    }
    expect(state.llmLatency).toMatchObject({ medianMs: 40, p95Ms: 60 });
    // A completion now takes the drawn time, recorded with the call.
    const res = await app.inject({
      method: 'POST',
      url: '/sandbox/openai/v1/chat/completions',
      payload: { messages: [{ role: 'user', content: 'hola' }] },
    });
    expect(res.statusCode).toBe(200);
    const [call] = state.calls('llm');
    expect(call.latencyMs).toBeGreaterThanOrEqual(1);
    expect(call.latencyMs).toBeLessThanOrEqual(240);
    await app.close();
  });
});
