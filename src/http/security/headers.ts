/**
 * Helmet options: security headers on every response, with a Content-Security-Policy the
 * dashboard (React built by Vite, uPlot charts) works under.
 */
import type { FastifyHelmetOptions } from '@fastify/helmet';
import type { Config } from '../../config/config.ts';

/** The CSP directives. Vite emits external module scripts only, so no inline script is needed;
 * uPlot and React set styles through the CSSOM (element.style), which `style-src 'self'` allows. */
export function cspDirectives(upgradeInsecure: boolean): Record<string, string[]> {
  const d: Record<string, string[]> = {
    'default-src': ["'self'"],
    'base-uri': ["'self'"],
    'connect-src': ["'self'"],
    'font-src': ["'self'", 'data:'],
    'form-action': ["'self'"],
    'frame-ancestors': ["'none'"],
    'img-src': ["'self'", 'data:'],
    'object-src': ["'none'"],
    'script-src': ["'self'"],
    'script-src-attr': ["'none'"],
    'style-src': ["'self'"],
  };
  // Only where the site is https for sure: on a plain-http dev server it would break the dashboard.
  if (upgradeInsecure) d['upgrade-insecure-requests'] = [];
  return d;
}

/** The HSTS header value WADI sends (also what `wadi preflight` expects). */
export function hstsValue(config: Config): string | undefined {
  const { HSTS_MAX_AGE: maxAge, HSTS_PRELOAD: preload } = config.env;
  if (maxAge === 0) return undefined;
  return `max-age=${maxAge}; includeSubDomains${preload ? '; preload' : ''}`;
}

/** Options for @fastify/helmet from the config. */
export function helmetOptions(config: Config): FastifyHelmetOptions {
  const { HSTS_MAX_AGE: maxAge, HSTS_PRELOAD: preload, PUBLIC_URL } = config.env;
  return {
    global: true,
    contentSecurityPolicy: {
      useDefaults: false,
      directives: cspDirectives(config.production && Boolean(PUBLIC_URL?.startsWith('https://'))),
    },
    strictTransportSecurity: maxAge === 0 ? false : { maxAge, includeSubDomains: true, preload },
    referrerPolicy: { policy: 'no-referrer' },
    frameguard: { action: 'deny' },
  };
}
