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
  // The redirect target uses PUBLIC_URL's host when known, so a forged Host header cannot turn
  // WADI into an open redirect.
  const publicOrigin = config.env.PUBLIC_URL?.startsWith('https://')
    ? new URL(config.env.PUBLIC_URL).origin
    : undefined;
  app.addHook('onRequest', async (req, reply) => {
    // Only requests that came through the proxy: direct internal traffic has no such header.
    if (req.headers['x-forwarded-proto'] === undefined || req.protocol !== 'http') return;
    const path = req.url.split('?')[0] ?? '/';
    if (isProbeOrMetrics(path)) return;
    const origin = publicOrigin ?? `https://${req.host}`;
    return reply.code(308).header('location', `${origin}${req.url}`).send();
  });
}
