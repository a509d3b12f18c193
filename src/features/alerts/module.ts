/**
 * The alerts feature: the alert engine (`AlertsProvider` for /admin/alerts) over the rules and
 * their sample sources. The engine runs in the roles that serve user traffic (all, web) because
 * HighErrorRate reads the in-process request stats; among those replicas the advisory lock picks
 * the one that evaluates and notifies.
 */
import type { AssistantStatus } from '../../assistant/breaker.ts';
import type { TelegramWebhookInfoReader } from '../../channels/telegram/webhook-check.ts';
import { systemClock } from '../../kernel/clock.ts';
import type { WadiModule } from '../../kernel/module.ts';
import type { ResourceLimits } from '../../observability/metrics/resources.ts';
import type { WindowedStats } from '../../observability/metrics/window-stats.ts';
import type { ModuleContext } from '../../platform/context.ts';
import { AlertEngine, type AlertsProvider } from './engine.ts';
import { notifiersFromEnv } from './notifiers.ts';
import { buildRules } from './rules.ts';
import { contextSources } from './sources.ts';

/** What the alert rules read from other features. */
export interface AlertsDeps {
  readonly stats: WindowedStats;
  readonly limits: ResourceLimits;
  readonly assistant: AssistantStatus;
  readonly telegramWebhookInfo: TelegramWebhookInfoReader | undefined;
}

/** The built feature: its contribution and the provider admin reads. */
export interface AlertsFeature {
  readonly module: WadiModule;
  readonly alerts: AlertsProvider;
}

/** Builds the engine; it is a service only outside the worker role. */
export function alertsModule(ctx: ModuleContext, deps: AlertsDeps): AlertsFeature {
  const env = ctx.config.env;
  const sources = contextSources(ctx, {
    stats: deps.stats,
    health: ctx.health,
    limits: deps.limits,
    startedAt: systemClock.now(),
    assistant: deps.assistant,
    telegramWebhookInfo: deps.telegramWebhookInfo,
  });
  const engine = new AlertEngine({
    database: ctx.database,
    rules: buildRules(env, sources),
    notifiers: notifiersFromEnv(env),
    logger: ctx.logger.child({ component: 'alerts' }),
    repeatSeconds: env.ALERT_REPEAT_SECONDS,
    runbookBase: env.ALERT_RUNBOOK_BASE_URL,
    outageForSeconds: env.ALERT_HEALTH_FAILING_SECONDS,
  });
  return { module: { name: 'alerts', services: ctx.role === 'worker' ? [] : [engine] }, alerts: engine };
}
