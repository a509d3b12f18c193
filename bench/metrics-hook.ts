/**
 * Cost of what the metrics hook does per request: one histogram observation with route labels and
 * one windowed-stats record; plus the cost of computing the three /admin/stats windows.
 * Run: `npx tsx bench/metrics-hook.ts` (results: bench/results/metrics-hook.txt).
 */
import { metrics } from '../src/observability/metrics/metrics.ts';
import { WindowedStats } from '../src/observability/metrics/window-stats.ts';

const N = 1_000_000;
const routes = ['/webhooks/whatsapp', '/webhooks/telegram', '/admin/stats', 'unmatched'];
const stats = new WindowedStats();

function time(label: string, n: number, fn: (i: number) => void): void {
  for (let i = 0; i < 10_000; i++) fn(i); // warm-up
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) fn(i);
  const ns = Number(process.hrtime.bigint() - start) / n;
  process.stdout.write(`${label.padEnd(48)} ${ns.toFixed(0).padStart(7)} ns/op\n`);
}

time('histogram observe (method, route, status)', N, (i) =>
  metrics.httpDuration.observe({ method: 'POST', route: routes[i & 3], status_code: '200' }, (i % 100) / 1000),
);
time('windowed stats record', N, (i) => stats.record(i % 100, i % 20 === 0 ? 500 : 200));
time('windows() 1m + 5m + 15m', 10_000, () => stats.windows());
time('series(60)', 10_000, () => stats.series(60));
process.stdout.write(`node ${process.version}, ${new Date().toISOString()}\n`);
