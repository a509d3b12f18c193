/**
 * Behind a TLS-terminating proxy (TRUST_PROXY set), a request the proxy received over plain http
 * (X-Forwarded-Proto: http) is redirected to https with 308, which keeps method and body.
 * Probes and /metrics are exempt: load balancers and Prometheus often speak http internally.
 */
import type { FastifyInstance } from 'fastify';
import type { Config } from '../../config/config.ts';
import { trustsAProxy } from '../../config/trust-proxy.ts';

/** Paths never redirected. */
export function isProbeOrMetrics(path: string): boolean {
  return path.startsWith('/health/') || path === '/metrics';
}

/** Adds the redirect hook when TRUST_PROXY is set. */
export function httpsRedirect(app: FastifyInstance, config: Config): void {
  if (!trustsAProxy(config.env.TRUST_PROXY)) return;
  // The target is PUBLIC_URL's host, never one a request names: X-Forwarded-Host (believed once a
  // proxy is trusted) would otherwise make WADI an open redirect, and a cache could keep it.
  // Production refuses TRUST_PROXY without PUBLIC_URL; in development the Host header the client
  // connected with (not X-Forwarded-Host) stands in.
  const publicHost = config.env.PUBLIC_URL ? new URL(config.env.PUBLIC_URL).host : undefined;
  app.addHook('onRequest', async (req, reply) => {
    // Only requests that came through the proxy: direct internal traffic has no such header.
    if (req.headers['x-forwarded-proto'] === undefined || req.protocol !== 'http') return;
    const path = req.url.split('?')[0] ?? '/';
    if (isProbeOrMetrics(path)) return;
    const host = publicHost ?? req.headers.host;
    if (!host) return;
    return reply.code(308).header('cache-control', 'no-store').header('location', `https://${host}${req.url}`).send();
  });
}
