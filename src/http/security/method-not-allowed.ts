/**
 * 405 instead of 404 when the path exists but not for this method, with an `Allow` header
 * (RFC 9110). Fastify itself answers 404 for any unknown method/path pair; telling the two apart
 * helps integrators (e.g. a webhook configured as GET) without revealing more than `Allow` says.
 */
import type { FastifyInstance } from 'fastify';
import { AppError } from '../errors.ts';

/** Turns a Fastify route path into a matcher (`:param` one segment, `*` the rest). */
export function routeMatcher(url: string): RegExp {
  const trimmed = url.length > 1 ? url.replace(/\/+$/, '') : url;
  const pattern = trimmed
    .split('/')
    .map((seg) => {
      if (seg === '*') return '.*';
      if (seg.startsWith(':')) return '[^/]+';
      return seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/\\\*/g, '.*');
    })
    .join('/');
  return new RegExp(`^${pattern}/?$`);
}

/** Collects routes as they are added and answers 405 for known paths with the wrong method. */
export function methodNotAllowed(app: FastifyInstance): void {
  const routes: { method: string; match: RegExp }[] = [];
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const match = routeMatcher(route.url);
    for (const method of methods) routes.push({ method: String(method).toUpperCase(), match });
  });
  // Callback-style: this hook sees every request (no promise per request for the matched ones).
  app.addHook('onRequest', (req, reply, done) => {
    if (!req.is404) return done();
    const path = req.url.split('?')[0] ?? '/';
    const allow = new Set(routes.filter((r) => r.match.test(path)).map((r) => r.method));
    // The catch-all OPTIONS routes of /admin do not make every path "exist".
    if (allow.size === 0 || (allow.size === 1 && allow.has('OPTIONS') && req.method !== 'OPTIONS')) return done();
    if (allow.has(req.method)) return done();
    reply.header('allow', [...allow].sort().join(', '));
    done(new AppError('method_not_allowed', 405, `${req.method} is not allowed on ${path}`));
  });
}
