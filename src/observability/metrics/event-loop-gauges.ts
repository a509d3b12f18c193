/**
 * The `nodejs_eventloop_lag_{min,max,mean,stddev,p50,p90,p99}_seconds` gauges of prom-client's
 * default metrics, same names and meaning (the intervals a 10 ms timer saw since the last scrape),
 * read from an EventLoopMonitor so that an idle process is not woken 100 times a second. While the
 * loop is quiet the monitor's 1 s check stands in: a scrape then reports `10 ms + how late the
 * check fired`. prom-client's own `nodejs_eventloop_lag_seconds` (a setImmediate timed at scrape)
 * stays as it is.
 */
import client from 'prom-client';
import { EventLoopMonitor } from './event-loop.ts';

const STATS = [
  ['min', 'The minimum recorded event loop delay.'],
  ['max', 'The maximum recorded event loop delay.'],
  ['mean', 'The mean of the recorded event loop delays.'],
  ['stddev', 'The standard deviation of the recorded event loop delays.'],
  ['p50', 'The 50th percentile of the recorded event loop delays.'],
  ['p90', 'The 90th percentile of the recorded event loop delays.'],
  ['p99', 'The 99th percentile of the recorded event loop delays.'],
] as const;

type Stat = (typeof STATS)[number][0];

/** Replaces prom-client's histogram gauges on `registry` with ones fed by `monitor` (started here). */
export function eventLoopLagGauges(
  registry: client.Registry,
  monitor = new EventLoopMonitor({ resetEachCheck: false }),
): EventLoopMonitor {
  const gauges = new Map<Stat, client.Gauge>();
  const read = () => {
    const h = monitor.window();
    if (!h) return;
    const values: Record<Stat, number> = {
      min: h.min,
      max: h.max,
      mean: h.mean,
      stddev: h.stddev,
      p50: h.percentile(50),
      p90: h.percentile(90),
      p99: h.percentile(99),
    };
    for (const [stat, gauge] of gauges) gauge.set(values[stat] / 1e9);
    monitor.reset();
  };
  for (const [stat, help] of STATS) {
    const name = `nodejs_eventloop_lag_${stat}_seconds`;
    registry.removeSingleMetric(name);
    // One scrape reads every gauge in registration order: the first one reads the window for all.
    const aggregator = stat === 'min' || stat === 'max' ? stat : 'average';
    gauges.set(
      stat,
      new client.Gauge({ name, help, aggregator, registers: [registry], ...(stat === 'min' ? { collect: read } : {}) }),
    );
  }
  monitor.start();
  return monitor;
}
