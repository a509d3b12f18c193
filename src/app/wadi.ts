/**
 * The composition root: config → logger → database → Redis → features → HTTP app and services.
 * `createWadi` is used by `wadi start` and by tests that need a whole WADI in-process.
 */
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Config } from '../config/config.ts';
import { type Database, openDatabase } from '../db/client.ts';
import { isServerShutdown, sqlState } from '../db/errors.ts';
import { migrate } from '../db/migrate.ts';
import { buildApp } from '../http/app.ts';
import type { BackgroundService } from '../lifecycle/service.ts';
import { databaseCheck, migrationsCheck, redisCheck } from '../ops/health/checks.ts';
import { Health } from '../ops/health/health.ts';
import { createLogger, type LogKit } from '../ops/logging/logger.ts';
import type { ModuleContext, ModuleFactory, Role, WadiModule } from './module.ts';
import { MODULES } from './modules.ts';

/** How to build a WADI. */
export interface WadiOptions {
  readonly role?: Role;
  /** An already-open database (tests); otherwise one is opened from the config. */
  readonly database?: Database;
  readonly logKit?: LogKit;
  /** Apply pending migrations before serving (default: WADI_MIGRATE_ON_START). */
  readonly migrate?: boolean;
  /** Feature factories (default: all of MODULES). */
  readonly modules?: readonly ModuleFactory[];
}

/** A built WADI: call `start()` to listen and run services, `stop()` to shut down cleanly. */
export interface Wadi {
  readonly config: Config;
  readonly logger: Logger;
  readonly logKit: LogKit;
  readonly database: Database;
  readonly redis?: Redis;
  readonly health: Health;
  readonly app: FastifyInstance;
  readonly context: ModuleContext;
  readonly modules: readonly WadiModule[];
  /** Listens on config PORT/HOST (or the given port) and starts services; returns the base URL. */
  start(port?: number): Promise<string>;
  /** Readiness 503, stop services, finish in-flight requests, close pools, flush logs. */
  stop(): Promise<void>;
}

/** Builds a WADI from a config without listening or starting anything. */
export async function createWadi(config: Config, opts: WadiOptions = {}): Promise<Wadi> {
  const role = opts.role ?? 'all';
  const logKit =
    opts.logKit ??
    createLogger({
      level: config.env.LOG_LEVEL,
      format: config.logFormat,
      secrets: config.secrets,
      ringSize: config.env.LOG_BUFFER_SIZE,
      base: { pid: process.pid, role },
    });
  const logger = logKit.logger;
  const ownsDatabase = !opts.database;
  const database =
    opts.database ??
    (await openDatabase({
      url: config.database.url,
      dataDir: config.database.dataDir,
      poolSize: config.env.DATABASE_POOL_SIZE,
      applicationName: `wadi-${role}`,
      onError: (err) =>
        isServerShutdown(err)
          ? logger.info(
              { code: sqlState(err) },
              'database closed an idle connection (server shutdown); reconnecting on use',
            )
          : logger.warn({ err: err.message }, 'database connection error'),
    }));

  try {
    if (opts.migrate ?? config.env.WADI_MIGRATE_ON_START) {
      const applied = await migrate(database);
      if (applied > 0) logger.info({ applied }, 'database migrations applied');
    }
  } catch (err) {
    if (ownsDatabase) await database.close().catch(() => {});
    throw err;
  }

  let redis: Redis | undefined;
  if (config.env.REDIS_URL) {
    redis = new Redis(config.env.REDIS_URL, {
      // Fail fast while Redis is down: callers fall back to in-process limits.
      maxRetriesPerRequest: 1,
      enableOfflineQueue: false,
      connectTimeout: 2000,
      retryStrategy: (times) => Math.min(times * 200, 5000),
    });
    let lastError = '';
    redis.on('error', (err) => {
      if (err.message !== lastError) logger.warn({ err: err.message }, 'redis connection error');
      lastError = err.message;
    });
    redis.on('ready', () => {
      if (lastError) logger.info('redis connection restored');
      lastError = '';
    });
  }

  const health = new Health();
  health.register(databaseCheck(database));
  health.register(migrationsCheck(database));
  if (redis) health.register(redisCheck(redis));

  let listeningUrl: string | undefined;
  const context: ModuleContext = {
    config,
    logger,
    logRing: logKit.ring,
    database,
    redis,
    health,
    role,
    registry: new Map(),
    localBaseUrl: () =>
      config.env.WADI_SANDBOX_URL?.replace(/\/$/, '') ?? listeningUrl ?? `http://127.0.0.1:${config.env.PORT}`,
  };
  const modules: WadiModule[] = [];
  for (const factory of opts.modules ?? MODULES) modules.push(await factory(context));
  for (const m of modules) for (const c of m.checks ?? []) health.register(c);

  const app = await buildApp({
    config,
    logger,
    health,
    prePlugins: modules.flatMap((m) => m.prePlugins ?? []),
    plugins: modules.flatMap((m) => m.plugins ?? []),
  });
  const services: BackgroundService[] = modules.flatMap((m) => m.services ?? []);
  let stopping: Promise<void> | undefined;

  return {
    config,
    logger,
    logKit,
    database,
    redis,
    health,
    app,
    context,
    modules,
    async start(port) {
      const address = await app.listen({ port: port ?? config.env.PORT, host: config.env.HOST });
      const actualPort = (app.server.address() as { port: number }).port;
      listeningUrl = `http://127.0.0.1:${actualPort}`;
      for (const s of services) await s.start();
      for (const m of modules) await m.afterListen?.();
      logger.info({ address, role, services: services.map((s) => s.name) }, 'WADI is listening');
      return listeningUrl;
    },
    stop() {
      stopping ??= (async () => {
        health.markShuttingDown();
        const delay = config.env.SHUTDOWN_DELAY_MS;
        if (delay > 0) {
          // Give load balancers time to see readiness fail before we stop accepting.
          logger.info({ delayMs: delay }, 'readiness failing; waiting before closing');
          await new Promise((r) => setTimeout(r, delay));
        }
        await Promise.allSettled(services.map((s) => s.stop()));
        // Idle keep-alive sockets are closed as soon as they become idle, so close() returns
        // when the last in-flight request has been answered.
        const sweeper = setInterval(() => app.server.closeIdleConnections?.(), 100);
        try {
          await app.close();
        } finally {
          clearInterval(sweeper);
        }
        for (const m of [...modules].reverse())
          await m.close?.().catch((err) => logger.warn({ err }, 'module close failed'));
        if (redis) redis.disconnect();
        if (ownsDatabase) await database.close();
        logger.info('WADI stopped');
        await logKit.flush();
      })();
      return stopping;
    },
  };
}
