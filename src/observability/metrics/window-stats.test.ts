import { describe, expect, it } from 'vitest';
import { WindowedStats } from './window-stats.ts';

function clock(start = Date.UTC(2026, 0, 1, 12, 0, 0)) {
  let t = start;
  return {
    now: () => t,
    advance: (ms: number) => {
      t += ms;
    },
  };
}

const round4 = (v: number) => Math.round(v * 10_000) / 10_000;

describe('windowed request stats', () => {
  it('reports RPS, p95 and error rate over 1, 5 and 15 minutes', () => {
    const c = clock();
    const s = new WindowedStats({ now: c.now });
    // 15 minutes of traffic: 1 request/s, 10 ms each, every 10th a 500.
    for (let i = 0; i < 900; i++) {
      s.record(10, i % 10 === 0 ? 500 : 200);
      c.advance(1000);
    }
    const w = s.windows();
    expect(w['1m'].requests).toBeGreaterThanOrEqual(60);
    expect(w['1m'].requests).toBeLessThanOrEqual(70);
    expect(w['15m'].requests).toBe(900);
    expect(w['15m'].rps).toBeCloseTo(1, 1);
    expect(w['5m'].errorRate).toBeCloseTo(0.1, 1);
    // p95 is never below the true value and at most one 25 % bin above it.
    expect(w['5m'].p95Ms).toBeGreaterThanOrEqual(10);
    expect(w['5m'].p95Ms).toBeLessThanOrEqual(12.5);
  });

  it('counts 5xx apart from 4xx: a 404 or 401 is an error for the charts, not a server error', () => {
    const c = clock();
    const s = new WindowedStats({ now: c.now });
    for (let i = 0; i < 20; i++) s.record(3, 200);
    s.record(1, 404);
    s.record(1, 401);
    s.record(1, 401);
    s.record(1, 429);
    expect(s.window(300)).toMatchObject({ requests: 24, serverErrors: 0, errorRate: round4(4 / 24) });
    s.record(1, 500);
    s.record(1, 503);
    expect(s.window(300)).toMatchObject({ requests: 26, serverErrors: 2, errorRate: round4(6 / 26) });
    c.advance(10 * 60_000);
    expect(s.window(300)).toMatchObject({ requests: 0, serverErrors: 0 });
  });

  it('sees a latency spike in p95 and forgets it once it leaves the window', () => {
    const c = clock();
    const s = new WindowedStats({ now: c.now });
    for (let i = 0; i < 100; i++) s.record(5, 200);
    for (let i = 0; i < 10; i++) s.record(2000, 503);
    expect(s.window(60).p95Ms).toBeGreaterThanOrEqual(2000);
    expect(s.window(60).errorRate).toBeCloseTo(10 / 110, 3);
    c.advance(2 * 60_000);
    expect(s.window(60)).toMatchObject({ requests: 0, p95Ms: null, errorRate: 0 });
    expect(s.window(300).requests).toBe(110);
  });

  it('gives one point per minute for the last hour and keeps memory bounded', () => {
    const c = clock();
    const s = new WindowedStats({ now: c.now });
    // Two hours at 2 requests per second: only the last hour can be reported.
    for (let i = 0; i < 7200; i++) {
      s.record(1, 200);
      s.record(1, 404);
      c.advance(1000);
    }
    const series = s.series(60);
    expect(series).toHaveLength(60);
    expect(series[0].t).toBeLessThan(series[59].t);
    expect(series[30]).toMatchObject({ rps: 2, errorRate: 0.5 });
    expect(s.window(7200).windowSeconds).toBe(3600);
    expect(s.window(3600).requests).toBeLessThanOrEqual(7220);
  });

  it('does not under-report RPS in a process younger than the window', () => {
    const c = clock();
    const s = new WindowedStats({ now: c.now });
    for (let i = 0; i < 30; i++) {
      s.record(1, 200);
      c.advance(1000);
    }
    expect(s.window(900).rps).toBeCloseTo(1, 1);
  });
});
