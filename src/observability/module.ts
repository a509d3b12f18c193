/**
 * The observability foundation inside a running WADI: request metrics and `/metrics` in every role
 * (workers are scraped too), the windowed request stats (`StatsProvider`, read by /admin/stats and
 * the alert rules), the container resource limits, and the tracing shutdown.
 */
import type { WadiModule } from '../kernel/module.ts';
import { httpMetricsPlugin, metricsRoute } from './metrics/http-metrics.ts';
import { exportLimits, type ResourceLimits, readLimits } from './metrics/resources.ts';
import { WindowedStats } from './metrics/window-stats.ts';
import { stopTracing } from './tracing/state.ts';

/** The built foundation: its contribution and what features read from it. */
export interface ObservabilityFeature {
  readonly module: WadiModule;
  readonly stats: WindowedStats;
  readonly limits: ResourceLimits;
}

/** Contributes the metrics hook and `/metrics`; exports the resource limits as gauges. */
export function observabilityModule(opts: { readonly metricsToken: string | undefined }): ObservabilityFeature {
  const stats = new WindowedStats();
  const limits = readLimits();
  exportLimits(limits);
  return {
    module: {
      name: 'ops',
      prePlugins: [httpMetricsPlugin(stats), metricsRoute(opts.metricsToken)],
      close: stopTracing,
    },
    stats,
    limits,
  };
}
