/**
 * The security layer, registered before every route: helmet headers, load shedding, the https
 * redirect behind a proxy, CORS for /admin only, and 405 for wrong methods. It is one plugin
 * that escapes Fastify's encapsulation, so its hooks cover the whole app.
 */
import helmet from '@fastify/helmet';
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import type { Config } from '../../config/config.ts';
import { adminCors } from './admin-cors.ts';
import { helmetOptions } from './headers.ts';
import { httpsRedirect } from './https-redirect.ts';
import { methodNotAllowed } from './method-not-allowed.ts';
import { type SheddingOptions, shedding } from './shedding.ts';

/** Builds the plugin for `config`. */
export function securityPlugin(config: Config, opts: SheddingOptions = {}): FastifyPluginAsync {
  const plugin: FastifyPluginAsync = async (app: FastifyInstance) => {
    // Order matters: headers first so every answer (503, 308, 405) carries them; shedding next,
    // the cheapest refusal under overload.
    await app.register(helmet, helmetOptions(config));
    await shedding(app, config, opts);
    httpsRedirect(app, config);
    adminCors(app, config);
    methodNotAllowed(app);
  };
  // What fastify-plugin does: hooks registered here apply to the parent (the whole app).
  Object.assign(plugin, { [Symbol.for('skip-override')]: true, [Symbol.for('fastify.display-name')]: 'wadi-security' });
  return plugin;
}
