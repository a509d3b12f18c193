import client from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { EventLoopMonitor, FINE_RESOLUTION_MS } from './event-loop.ts';
import { eventLoopLagGauges } from './event-loop-gauges.ts';
import { registry } from './metrics.ts';

/** A monitor driven by hand: `advance(ms, utilization)` moves the clock and runs one check. */
function manual(opts: { resetEachCheck?: boolean } = {}) {
  let now = 0;
  let utilization = 0;
  const monitor = new EventLoopMonitor({
    checkMs: 1000,
    quietChecks: 3,
    busyUtilization: 0.05,
    busyDelayMs: 50,
    now: () => now,
    utilization: () => utilization,
    ...opts,
  });
  const advance = (ms: number, u = 0) => {
    now += ms;
    utilization = u;
    monitor.check();
  };
  return { monitor, advance };
}

const started: EventLoopMonitor[] = [];
afterEach(() => {
  for (const m of started.splice(0)) m.stop();
});

describe('EventLoopMonitor', () => {
  it('runs the 10 ms histogram while busy and turns it off after quiet checks', () => {
    const { monitor, advance } = manual();
    started.push(monitor);
    monitor.start();
    expect(monitor.fineActive).toBe(true);
    advance(1000, 0.001);
    advance(1000, 0.001);
    expect(monitor.fineActive).toBe(true);
    advance(1000, 0.001);
    expect(monitor.fineActive).toBe(false);
    // Busy again (utilization over 5 %): on at the next check, not after a delay.
    advance(1000, 0.3);
    expect(monitor.fineActive).toBe(true);
    // A busy check in between restarts the count of quiet ones.
    advance(1000, 0);
    advance(1000, 0);
    advance(1000, 0.2);
    advance(1000, 0);
    advance(1000, 0);
    expect(monitor.fineActive).toBe(true);
    advance(1000, 0);
    expect(monitor.fineActive).toBe(false);
  });

  it('reports how late its own check fired while the histogram is off, and a stall wakes it', () => {
    const { monitor, advance } = manual();
    expect(monitor.fineActive).toBe(false);
    advance(1000);
    expect(monitor.delayMs).toBe(0);
    // The loop was blocked 4 s: the check fires 4 s late.
    advance(5000);
    expect(monitor.delayMs).toBe(4000);
    expect(monitor.fineActive).toBe(true);
    monitor.stop();
  });

  it('keeps the checks as 10 ms-timer intervals for the lag gauges while the histogram is off', () => {
    const { monitor, advance } = manual({ resetEachCheck: false });
    expect(monitor.window()).toBeUndefined();
    advance(1000);
    advance(1020);
    const w = monitor.window();
    expect(w?.count).toBe(2);
    // The histogram keeps three significant digits.
    expect((w?.min ?? 0) / 1e6).toBeCloseTo(FINE_RESOLUTION_MS, 1);
    expect((w?.max ?? 0) / 1e6).toBeCloseTo(FINE_RESOLUTION_MS + 20, 1);
    monitor.reset();
    expect(monitor.window()).toBeUndefined();
  });
});

describe('nodejs_eventloop_lag_* gauges', () => {
  it('come from the monitor under prom-client names, once each on the /metrics registry', async () => {
    for (const stat of ['min', 'max', 'mean', 'stddev', 'p50', 'p90', 'p99']) {
      expect(registry.getSingleMetric(`nodejs_eventloop_lag_${stat}_seconds`), stat).toBeDefined();
    }
    const text = await registry.metrics();
    expect(text.match(/^nodejs_eventloop_lag_p99_seconds /gm)).toHaveLength(1);
    expect(text).toMatch(/^nodejs_eventloop_lag_seconds /m);

    const own = new client.Registry();
    const { monitor, advance } = manual({ resetEachCheck: false });
    eventLoopLagGauges(own, monitor);
    started.push(monitor);
    monitor.stop();
    advance(1000);
    advance(1100);
    const body = await own.metrics();
    const value = (stat: string) =>
      Number(new RegExp(`^nodejs_eventloop_lag_${stat}_seconds (\\S+)$`, 'm').exec(body)?.[1]);
    expect(value('min')).toBeCloseTo(0.01, 4);
    expect(value('max')).toBeCloseTo(0.11, 3);
    expect(value('p50')).toBeCloseTo(0.01, 4);
    // Read once per scrape: the next scrape starts from an empty window.
    expect(monitor.window()).toBeUndefined();
  });
});
