/** Operational reads: dependency health, recent logs, queue backlog, request stats, alerts, instance info. */
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import type { AppError } from '../http/errors.ts';
import type { CheckResult, HealthCheck } from '../observability/health/health.ts';
import type { AdminContext } from './context.ts';
import {
  type Alerts,
  type AlertsQuery,
  alertsQuery,
  alerts as alertsShape,
  type Dependency,
  type HealthView,
  healthView,
  type Info,
  info,
  type Logs,
  type LogsQuery,
  logs,
  logsQuery,
  type Queues,
  queues,
  type Stats,
  type StatsQuery,
  statsQuery,
  stats as statsShape,
} from './contract.ts';
import { adminErrors } from './errors.ts';
import { queueStats } from './queries.ts';
import { input, responses } from './schemas.ts';

const EXTRA_CHECK_TIMEOUT_MS = 3000;

async function timedCheck(check: HealthCheck): Promise<Dependency> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  let result: CheckResult;
  try {
    result = await Promise.race([
      Promise.resolve(check.run()),
      new Promise<CheckResult>((resolve) => {
        timer = setTimeout(
          () => resolve({ status: 'fail', output: `no answer within ${EXTRA_CHECK_TIMEOUT_MS} ms` }),
          EXTRA_CHECK_TIMEOUT_MS,
        );
      }),
    ]);
  } catch (err) {
    result = { status: 'fail', output: (err as Error).message };
  } finally {
    clearTimeout(timer);
  }
  return {
    name: check.name,
    componentType: check.componentType ?? null,
    status: result.status,
    latencyMs: Math.round((performance.now() - started) * 10) / 10,
    detail: result.output ?? null,
    observedValue: result.observedValue === undefined ? null : String(result.observedValue),
  };
}

/**
 * Answers an expected, polled-for condition (a feature not running here) without going through the
 * error handler, which would log every dashboard poll as a server error.
 */
function answerError(reply: FastifyReply, e: AppError) {
  return reply
    .status(e.statusCode)
    .headers(e.headers ?? {})
    .send({ error: { code: e.code, message: e.message } });
}

/** Routes: /admin/health, /admin/logs, /admin/queues, /admin/stats, /admin/alerts, /admin/info. */
export function opsRoutes(a: AdminContext): FastifyPluginAsync {
  const { ctx } = a;
  return async (app) => {
    app.get<{ Reply: HealthView }>(
      '/admin/health',
      {
        logLevel: 'warn',
        schema: {
          operationId: 'getHealth',
          summary: 'Every dependency with status, latency and detail',
          tags: ['operations'],
          response: responses({ 200: healthView }),
        },
      },
      async () => {
        const started = performance.now();
        const [report, extra] = await Promise.all([
          ctx.health.ready(),
          Promise.all(a.deps.dependencyChecks.map(timedCheck)),
        ]);
        const readyMs = Math.round((performance.now() - started) * 10) / 10;
        const deps: Dependency[] = Object.entries(report.checks).map(([name, [c]]) => ({
          name,
          componentType: c.componentType ?? null,
          status: c.status,
          // Readiness checks report their own latency when they measure one; else the whole round.
          latencyMs: c.observedUnit === 'ms' && typeof c.observedValue === 'number' ? c.observedValue : readyMs,
          detail: c.output ?? null,
          observedValue: c.observedValue === undefined ? null : String(c.observedValue),
        }));
        deps.push(...extra);
        const order = { pass: 0, warn: 1, fail: 2 } as const;
        let status: 'pass' | 'warn' | 'fail' = report.status;
        for (const d of deps) if (order[d.status] > order[status]) status = d.status;
        return {
          status,
          checkedAt: new Date().toISOString(),
          shuttingDown: ctx.health.isShuttingDown,
          dependencies: deps,
        };
      },
    );

    app.get<{ Querystring: LogsQuery; Reply: Logs }>(
      '/admin/logs',
      {
        logLevel: 'warn',
        schema: {
          operationId: 'getLogs',
          summary: 'The most recent log records of this instance (secrets redacted), oldest first',
          tags: ['operations'],
          querystring: input(logsQuery),
          response: responses({ 200: logs }),
        },
      },
      async (req) => {
        const { limit, level, since, q, route, conversation, sandbox } = req.query;
        const found = ctx.logRing.query({
          limit,
          minLevel: level,
          since: since ? new Date(since) : undefined,
          text: q,
          route: route || undefined,
          conversationId: conversation,
          sandbox,
        });
        return { capacity: ctx.logRing.capacity, ...found };
      },
    );

    app.get<{ Reply: Queues }>(
      '/admin/queues',
      {
        logLevel: 'warn',
        schema: {
          operationId: 'getQueues',
          summary: 'Inbox backlog and outbound outcomes, from the database',
          tags: ['operations'],
          response: responses({ 200: queues }),
        },
      },
      () => queueStats(ctx.database),
    );

    app.get<{ Querystring: StatsQuery; Reply: Stats }>(
      '/admin/stats',
      {
        logLevel: 'warn',
        schema: {
          operationId: 'getStats',
          summary: 'RPS, p95 latency and error rate (1, 5, 15 min windows and per-minute series), backlog, outcomes',
          tags: ['operations'],
          querystring: input(statsQuery),
          response: responses({ 200: statsShape }, [503]),
        },
      },
      async (req, reply) => {
        const stats = a.deps.stats;
        if (!stats) return answerError(reply, adminErrors.statsUnavailable());
        return {
          windows: stats.windows(),
          series: stats.series(req.query.minutes),
          ...(await queueStats(ctx.database)),
        };
      },
    );

    app.get<{ Querystring: AlertsQuery; Reply: Alerts }>(
      '/admin/alerts',
      {
        logLevel: 'warn',
        schema: {
          operationId: 'getAlerts',
          summary: 'Alerts firing and pending, every rule with its current value, recent history, destinations',
          tags: ['operations'],
          querystring: input(alertsQuery),
          response: responses({ 200: alertsShape }, [503]),
        },
      },
      async (req, reply) => {
        const alerts = a.deps.alerts;
        if (!alerts) return answerError(reply, adminErrors.alertsUnavailable());
        const [firing, pending, recent, rules] = await Promise.all([
          alerts.firing(),
          alerts.pending(),
          alerts.recent(req.query.limit),
          alerts.rules(),
        ]);
        return {
          firing,
          pending,
          recent,
          rules: { evaluatedAt: rules.evaluatedAt, items: rules.rules },
          destinations: alerts.destinations(),
        };
      },
    );

    app.get<{ Reply: Info }>(
      '/admin/info',
      {
        logLevel: 'warn',
        schema: {
          operationId: 'getInfo',
          summary: 'This instance: role, sandbox mode, which optional features are running',
          tags: ['operations'],
          response: responses({ 200: info }),
        },
      },
      async () => ({
        role: ctx.role,
        sandbox: ctx.config.sandbox,
        production: ctx.config.production,
        channels: [ctx.config.whatsapp ? 'whatsapp' : null, ctx.config.telegram ? 'telegram' : null].filter(
          (c): c is string => c !== null,
        ),
        features: { stats: a.deps.stats !== undefined, alerts: a.deps.alerts !== undefined },
        pid: process.pid,
        uptimeSeconds: Math.round(process.uptime()),
      }),
    );
  };
}
