/**
 * The /admin plugin: the public dashboard files, and the API behind `x-admin-key` with its rate
 * limits, audit trail and OpenAPI document. Encapsulated: its hooks touch no other route.
 */
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import type { FastifyPluginAsync } from 'fastify';
import { errors } from '../http/errors.ts';
import type { ModuleContext } from '../platform/context.ts';
import { KeyVerifier, keyFingerprint } from './auth.ts';
import { clientKey } from './client-key.ts';
import { type AdminDeps, adminContext, setActor } from './context.ts';
import { dashboardPlugin } from './dashboard.ts';
import { adminErrors } from './errors.ts';
import { FailureLockout } from './lockout.ts';
import { deadLetterRoutes } from './routes-dead-letters.ts';
import { knowledgeRoutes } from './routes-knowledge.ts';
import { operatorRoutes } from './routes-operator.ts';
import { opsRoutes } from './routes-ops.ts';
import { sandboxRoutes } from './routes-sandbox.ts';
import { sessionRoutes } from './routes-sessions.ts';

/** Limits of the admin API (defaults suit one operator with a dashboard open). */
export interface AdminOptions {
  /** Failed key attempts per client IP before it gets 429 (default 10)… */
  readonly maxFailures?: number;
  /** …within this window, ms (default 5 minutes). */
  readonly failureWindowMs?: number;
  /** Authenticated requests per client IP per minute (default 600). */
  readonly maxPerMinute?: number;
  /** Dashboard build directory (default web/dist). */
  readonly dashboardDist?: string;
}

/** Builds the /admin plugin. */
export function adminPlugin(ctx: ModuleContext, deps: AdminDeps, opts: AdminOptions = {}): FastifyPluginAsync {
  const verifier = new KeyVerifier(ctx.config.admin.keys);
  const a = adminContext(ctx, deps);

  return async (app) => {
    await app.register(dashboardPlugin(opts.dashboardDist));
    await app.register(async (api) => {
      await api.register(swagger, {
        openapi: {
          openapi: '3.0.3',
          info: {
            title: 'WADI admin API',
            version: '1',
            description: 'Operate a running WADI: health, logs, conversations, dead letters, stats, alerts.',
          },
          components: {
            securitySchemes: { adminKey: { type: 'apiKey', in: 'header', name: 'x-admin-key' } },
          },
          security: [{ adminKey: [] }],
        },
      });
      await api.register(rateLimit, {
        global: true,
        max: opts.maxPerMinute ?? 600,
        timeWindow: 60_000,
        redis: ctx.redis,
        nameSpace: 'wadi:admin-rl:',
        // Redis down: fall back to no shared limit rather than locking operators out. (The
        // failed-key lockout below never turns off: it falls back to an in-process count.)
        skipOnError: true,
        // Route-level: runs after the key check below, so only requests with a valid key count.
        keyGenerator: (req) => clientKey(req.ip),
        errorResponseBuilder: (_req, c) => adminErrors.tooManyRequests(Math.ceil(c.ttl / 1000)),
      });
      const failures = new FailureLockout({
        max: opts.maxFailures ?? 10,
        windowMs: opts.failureWindowMs ?? 5 * 60_000,
        redis: ctx.redis,
      });
      api.addHook('onRequest', async (req) => {
        // A valid key is never locked out: the lockout stops the failing keys' attempts, not an
        // operator who shares an address (NAT, proxy) with whoever is guessing.
        const presented = req.headers['x-admin-key'];
        const key = typeof presented === 'string' ? presented : undefined;
        if (key !== undefined && verifier.verify(key)) {
          setActor(req, keyFingerprint(key));
          return;
        }
        const client = clientKey(req.ip);
        const seen = await failures.check(client);
        if (seen.locked) throw adminErrors.tooManyRequests(seen.retryAfterSeconds);
        await failures.fail(client);
        req.log.warn({ ip: req.ip, keyPresent: key !== undefined }, 'admin request with a missing or wrong key');
        throw errors.unauthorized('a valid x-admin-key header is required');
      });

      // ajv coerces "Infinity" to a number that passes "integer" and even "maximum": refuse
      // non-finite numbers before a route hands one to PostgreSQL.
      api.addHook('preHandler', async (req) => {
        for (const part of [req.query, req.params]) {
          if (part === null || typeof part !== 'object') continue;
          for (const [k, v] of Object.entries(part as Record<string, unknown>)) {
            if (typeof v === 'number' && !Number.isFinite(v)) throw errors.badRequest(`${k} must be a finite number`);
          }
        }
        // A request about one conversation logs under its id (the request line too, written from
        // req.log when the response goes), so the Logs page's conversation filter finds it.
        const id = (req.params as { id?: unknown } | undefined)?.id;
        if (
          req.routeOptions.url?.startsWith('/admin/sessions/:id') &&
          typeof id === 'number' &&
          Number.isSafeInteger(id)
        )
          req.log = req.log.child({ conversationId: id });
      });

      await api.register(opsRoutes(a));
      await api.register(sessionRoutes(a));
      await api.register(deadLetterRoutes(a));
      await api.register(
        operatorRoutes(a, {
          wakeInbox: (ids) => deps.inboxEvents.emit('committed', ids),
          wakeOutbox: () => deps.wakeOutbox?.(),
        }),
      );
      await api.register(knowledgeRoutes(a));
      if (ctx.config.sandbox) await api.register(sandboxRoutes(a));
      api.get('/admin/openapi.json', { schema: { hide: true }, logLevel: 'warn' }, async () => api.swagger());
    });
  };
}
