/**
 * The metrics HTTP surface: an onResponse hook recording every answered request into the
 * `http_request_duration_seconds` histogram (route = template, 'unmatched' for unknown paths, so
 * scanners cannot mint label values) and into the windowed stats; and `GET /metrics`, guarded by
 * `Authorization: Bearer <METRICS_TOKEN>` when a token is configured.
 */
import type { FastifyPluginAsync } from 'fastify';
import { AppError } from '../../kernel/errors.ts';
import { secretEquals } from '../../kernel/secret.ts';
import { metrics, registry } from './metrics.ts';
import type { WindowedStats } from './window-stats.ts';

/** Routes that say nothing about user-facing traffic: kept out of the windowed stats. */
export function isOperationalRoute(route: string): boolean {
  // Probes, scrapes and the sandbox's fake platform APIs are not user traffic.
  return route.startsWith('/health/') || route === '/metrics' || route.startsWith('/sandbox/');
}

/**
 * Hook plugin for every route of the app. It skips Fastify's encapsulation (what fastify-plugin
 * does) so the hook sees requests of routes registered by later plugins too.
 */
export function httpMetricsPlugin(stats: WindowedStats): FastifyPluginAsync {
  const plugin: FastifyPluginAsync = async (app) => {
    app.addHook('onResponse', (req, reply, done) => {
      const route = req.routeOptions.url ?? 'unmatched';
      const status = reply.statusCode;
      const ms = reply.elapsedTime;
      metrics.httpDuration.observe({ method: req.method, route, status_code: String(status) }, ms / 1000);
      if (!isOperationalRoute(route)) stats.record(ms, status);
      done();
    });
  };
  (plugin as unknown as Record<symbol, boolean>)[Symbol.for('skip-override')] = true;
  return plugin;
}

/** True when `header` is exactly `Bearer <token>`; compared in constant time on hashes. */
export function bearerMatches(header: string | undefined, token: string): boolean {
  const presented = header?.startsWith('Bearer ') ? header.slice(7) : '';
  return secretEquals(presented, token) && presented.length > 0;
}

/** `GET /metrics` in Prometheus text format. */
export function metricsRoute(token: string | undefined): FastifyPluginAsync {
  return async (app) => {
    app.get('/metrics', { logLevel: 'warn' }, async (req, reply) => {
      if (token !== undefined && !bearerMatches(req.headers.authorization, token)) {
        throw new AppError('unauthorized', 401, 'a valid bearer token is required', {
          headers: { 'www-authenticate': 'Bearer realm="metrics"' },
        });
      }
      const body = await registry.metrics();
      return reply.header('content-type', registry.contentType).header('cache-control', 'no-store').send(body);
    });
  };
}
