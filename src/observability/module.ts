/**
 * The observability feature: request metrics and `/metrics` in every role (workers are scraped
 * too), windowed stats (`ops.stats`), and the alert engine (`ops.alerts`). The engine runs in the
 * roles that serve user traffic (all, web) because HighErrorRate reads the in-process request
 * stats; among those replicas the advisory lock picks the one that evaluates and notifies.
 */
import type { ModuleFactory } from '../kernel/module.ts';
import { provide } from '../app/shared.ts';
import { AlertEngine } from '../features/alerts/engine.ts';
import { notifiersFromEnv } from '../features/alerts/notifiers.ts';
import { buildRules } from '../features/alerts/rules.ts';
import { contextSources } from '../features/alerts/sources.ts';
import { httpMetricsPlugin, metricsRoute } from './metrics/http-metrics.ts';
import { exportLimits, readLimits } from './metrics/resources.ts';
import { WindowedStats } from './metrics/window-stats.ts';
import { stopTracing } from './tracing/state.ts';

/** Registers `ops.stats` and `ops.alerts`; contributes the metrics hook, `/metrics` and the evaluator. */
export const opsModule: ModuleFactory = (ctx) => {
  const env = ctx.config.env;
  const stats = new WindowedStats();
  provide(ctx, 'ops.stats', stats);
  const limits = readLimits();
  exportLimits(limits);
  const sources = contextSources(ctx, { stats, health: ctx.health, limits, startedAt: Date.now() });
  const engine = new AlertEngine({
    database: ctx.database,
    rules: buildRules(env, sources),
    notifiers: notifiersFromEnv(env),
    logger: ctx.logger.child({ component: 'alerts' }),
    repeatSeconds: env.ALERT_REPEAT_SECONDS,
    runbookBase: env.ALERT_RUNBOOK_BASE_URL,
    outageForSeconds: env.ALERT_HEALTH_FAILING_SECONDS,
  });
  provide(ctx, 'ops.alerts', engine);
  return {
    name: 'ops',
    prePlugins: [httpMetricsPlugin(stats), metricsRoute(env.METRICS_TOKEN)],
    services: ctx.role === 'worker' ? [] : [engine],
    close: stopTracing,
  };
};
