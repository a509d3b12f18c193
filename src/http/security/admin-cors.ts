/**
 * CORS for the admin API only: origins listed in CORS_ORIGINS, compared exactly (no patterns, no
 * reflection of other origins). Webhooks, probes and metrics never send CORS headers, so a browser
 * on another site can never read them.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../../config/config.ts';
import { errors } from '../errors.ts';

/** Methods and headers a permitted origin may use on /admin. */
export const ADMIN_CORS = {
  methods: 'GET, HEAD, POST, PUT, PATCH, DELETE',
  headers: 'x-admin-key, content-type, x-request-id',
  exposed: 'x-request-id, retry-after',
  maxAgeSeconds: 600,
} as const;

/** True for /admin and anything below it. */
export function isAdminPath(path: string): boolean {
  return path === '/admin' || path.startsWith('/admin/');
}

/** Adds the CORS hook and the preflight routes for /admin. */
export function adminCors(app: FastifyInstance, config: Config): void {
  const allowed = new Set(config.env.CORS_ORIGINS);
  const permitted = (origin: unknown): origin is string => typeof origin === 'string' && allowed.has(origin);

  // Callback-style, cheap test first: this hook sees every request, webhooks included.
  app.addHook('onRequest', (req, reply, done) => {
    if (req.method === 'OPTIONS' || !req.url.startsWith('/admin') || !isAdminPath(req.url.split('?')[0] ?? '')) {
      return done();
    }
    reply.header('vary', 'Origin');
    const origin = req.headers.origin;
    if (permitted(origin)) {
      reply.header('access-control-allow-origin', origin);
      reply.header('access-control-expose-headers', ADMIN_CORS.exposed);
    }
    done();
  });

  // Preflight answers before any admin auth: browsers never send credentials on OPTIONS.
  const preflight = async (req: FastifyRequest, reply: FastifyReply) => {
    reply.header('vary', 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers');
    const origin = req.headers.origin;
    if (origin === undefined) return reply.code(204).header('allow', ADMIN_CORS.methods).send();
    if (!permitted(origin)) throw errors.forbidden('origin not allowed');
    return reply
      .code(204)
      .header('access-control-allow-origin', origin)
      .header('access-control-allow-methods', ADMIN_CORS.methods)
      .header('access-control-allow-headers', ADMIN_CORS.headers)
      .header('access-control-max-age', String(ADMIN_CORS.maxAgeSeconds))
      .send();
  };
  app.options('/admin', { logLevel: 'warn' }, preflight);
  app.options('/admin/*', { logLevel: 'warn' }, preflight);
}
