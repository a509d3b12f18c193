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

const NOT_BUILT = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>WADI admin</title></head>
<body><h1>The dashboard has not been built</h1><p>Run <code>npm run build:web</code> and reload (<code>wadi start</code>
builds it when missing if Vite, a dev dependency, is installed). The admin API works without it: see /admin/openapi.json.</p></body></html>`;

/** The dashboard's routes: /admin, /admin/ui/* (client routes) and /admin/assets/*. */
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
    app.get('/admin', { logLevel: 'warn' }, index);
    app.get('/admin/ui/*', { logLevel: 'warn' }, index);
  };
}
