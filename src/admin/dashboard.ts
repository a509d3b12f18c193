/**
 * Serves the built dashboard (web/dist) at /admin without a key: the page holds no data, it asks for
 * the key and calls the API with it. Hashed assets are cached for a year; index.html never is.
 * Client routes live under /admin/ui/ so they never collide with API paths.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';

/** Where `npm run build:web` puts the dashboard. */
export const DASHBOARD_DIST = fileURLToPath(new URL('../../web/dist/', import.meta.url));

const NOT_BUILT = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Dashboard not built · WADI</title>
<link rel="icon" href="/admin/favicon.svg" type="image/svg+xml"></head>
<body><h1>The dashboard has not been built</h1><p>Run <code>npm run build:web</code> and reload (<code>wadi start</code>
builds it when missing if Vite, a dev dependency, is installed). The admin API works without it: see /admin/openapi.json.</p></body></html>`;

/**
 * The dashboard's icon (a speech bubble in the header's colours), served by the server itself so it
 * exists before the dashboard is built and browsers asking /favicon.ico get an answer, not a 404.
 */
export const FAVICON_SVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">
<rect width="32" height="32" rx="7" fill="#0f172a"/>
<path d="M7 9.5C7 8.1 8.1 7 9.5 7h13C23.9 7 25 8.1 25 9.5v8c0 1.4-1.1 2.5-2.5 2.5H14l-5 4.5V20h.5C8.1 20 7 18.9 7 17.5z" fill="#fff"/>
<circle cx="12" cy="13.5" r="1.5" fill="#2563eb"/><circle cx="16" cy="13.5" r="1.5" fill="#2563eb"/><circle cx="20" cy="13.5" r="1.5" fill="#2563eb"/>
</svg>
`;

/** The dashboard's routes: /admin, /admin/ui/* (client routes), /admin/assets/* and the icon. */
export function dashboardPlugin(dist = DASHBOARD_DIST): FastifyPluginAsync {
  return async (app) => {
    // Registered even before the dashboard is built, so a build finished later is served at once.
    await app.register(fastifyStatic, {
      root: `${dist}assets`,
      prefix: '/admin/assets/',
      decorateReply: false,
      index: false,
      immutable: true,
      maxAge: '365d',
      suppressWarning: true,
    });
    const index = async (_req: unknown, reply: FastifyReply) => {
      reply.header('cache-control', 'no-cache').type('text/html; charset=utf-8');
      try {
        return await readFile(`${dist}index.html`, 'utf8');
      } catch {
        return reply.status(503).send(NOT_BUILT);
      }
    };
    const icon = async (_req: unknown, reply: FastifyReply) =>
      reply.header('cache-control', 'public, max-age=86400').type('image/svg+xml').send(FAVICON_SVG);
    app.get('/admin/favicon.svg', { logLevel: 'warn' }, icon);
    app.get('/favicon.ico', { logLevel: 'warn' }, icon);
    app.get('/admin', { logLevel: 'warn' }, index);
    app.get('/admin/ui/*', { logLevel: 'warn' }, index);
  };
}
