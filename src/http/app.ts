/**
 * `buildApp(deps)`: the Fastify application, fully wired but not listening. main wires real
 * adapters; tests wire fakes or the sandbox and call `app.inject()` or listen on port 0.
 */
import { randomUUID } from 'node:crypto';
import Fastify, {
  type FastifyInstance,
  type FastifyPluginAsync,
  type FastifyServerOptions,
  LogController,
} from 'fastify';
import type { Logger } from 'pino';
import type { Config } from '../config/config.ts';
import { parseTrustProxy } from '../config/trust-proxy.ts';
import type { Health } from '../observability/health/health.ts';
import { AppError, errors, fromFastifyError } from './errors.ts';

/** What the HTTP layer needs from the rest of WADI. */
export interface AppDeps {
  readonly config: Config;
  readonly logger: Logger;
  readonly health: Health;
  /** Feature routes (webhooks, admin, metrics, sandbox…), registered in order after the core. */
  readonly plugins?: readonly FastifyPluginAsync[];
  /** Hook for plugins that must run before any route (metrics, security). */
  readonly prePlugins?: readonly FastifyPluginAsync[];
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Builds the app; `await app.ready()` is left to the caller. */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const { config } = deps;
  const opts: FastifyServerOptions = {
    loggerInstance: deps.logger,
    // Our own request ids: honour a sane incoming x-request-id, else generate one.
    genReqId: (req) => {
      const incoming = req.headers['x-request-id'];
      return typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    },
    bodyLimit: 1024 * 1024,
    trustProxy: parseTrustProxy(config.env.TRUST_PROXY),
    // Finish in-flight requests on close, but drop idle keep-alive sockets at once.
    forceCloseConnections: 'idle',
    return503OnClosing: true,
    // One line per request is written by our onResponse hook (with the route template).
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'reqId' }),
    routerOptions: { ignoreTrailingSlash: true },
  };
  const app = Fastify(opts) as unknown as FastifyInstance;

  // Hooks on every request are callback-style: no promise per hook per request (issue 20).
  app.addHook('onRequest', (req, reply, done) => {
    reply.header('x-request-id', req.id);
    done();
  });
  // While shutting down, responses close their connection, so keep-alive clients do not hold
  // the server open past the requests that were in flight.
  app.addHook('onSend', (_req, reply, payload, done) => {
    if (deps.health.isShuttingDown) reply.header('connection', 'close');
    done(null, payload);
  });
  app.addHook('onResponse', (req, reply, done) => {
    const url = req.routeOptions.url ?? 'unknown';
    if (url.startsWith('/health/') || url === '/metrics') return done();
    // Accepted webhooks log at debug (below): no line to build when debug is off.
    if (reply.statusCode < 400 && url.startsWith('/webhooks/') && !(req.log as Logger).isLevelEnabled('debug'))
      return done();
    const line: Record<string, unknown> = {
      method: req.method,
      route: url,
      statusCode: reply.statusCode,
      ms: Math.round(reply.elapsedTime * 10) / 10,
    };
    // No route template says what was asked for: the path does (not the query, which may carry tokens).
    if (reply.statusCode === 404) line.url = req.url.split('?')[0].slice(0, 300);
    // Accepted webhooks are the bulk of the traffic (thousands a second at peak) and are counted
    // per request in wadi_webhook_events_total and the HTTP histogram: their line is debug-level.
    // Refused ones (4xx, 5xx) keep the info line.
    if (reply.statusCode < 400 && url.startsWith('/webhooks/')) req.log.debug(line, 'request');
    else req.log.info(line, 'request');
    done();
  });

  app.setErrorHandler((err, req, reply) => {
    const e = err as Error & { code?: string; statusCode?: number; validation?: unknown };
    const known = err instanceof AppError ? err : fromFastifyError(e);
    if (known) {
      if (known.statusCode >= 500) req.log.error({ err }, known.message);
      else req.log.warn({ code: known.code, statusCode: known.statusCode }, known.message);
      if (known.headers) reply.headers(known.headers);
      return reply.status(known.statusCode).send({ error: { code: known.code, message: known.message } });
    }
    req.log.error({ err }, 'unhandled error');
    return reply.status(500).send({ error: { code: 'internal', message: 'internal error' } });
  });
  app.setNotFoundHandler((req, reply) => {
    reply
      .status(404)
      .send({ error: { code: 'not_found', message: `no route for ${req.method} ${req.url.split('?')[0]}` } });
  });

  for (const p of deps.prePlugins ?? []) await app.register(p);

  app.get('/health/live', { logLevel: 'warn' }, async (_req, reply) => {
    reply.header('cache-control', 'no-store');
    return { status: 'pass' };
  });
  app.get('/health/ready', { logLevel: 'warn' }, async (_req, reply) => {
    const report = await deps.health.ready({ public: true });
    reply
      .status(report.status === 'fail' ? 503 : 200)
      .header('content-type', 'application/health+json')
      .header('cache-control', 'no-store');
    return report;
  });

  for (const p of deps.plugins ?? []) await app.register(p);
  return app;
}

export { errors };
