/**
 * The composition root: config → logger → database → Redis → features → HTTP app and services.
 * Features are built in dependency order and each receives the typed objects it needs from the
 * features built before it (plain constructor injection: a missing dependency is a compile error).
 * `createWadi` is used by `wadi start` and by tests that need a whole WADI in-process.
 */

import { EventEmitter } from 'node:events';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { AdminDeps } from '../admin/context.ts';
import { adminModule } from '../admin/module.ts';
import type { AdminOptions } from '../admin/plugin.ts';
import { assistantCheck, createAssistant } from '../assistant/factory.ts';
import { toolsModule } from '../assistant-tools/module.ts';
import { telegramModule } from '../channels/telegram/module.ts';
import type { TelegramWebhookInfoReader } from '../channels/telegram/webhook-check.ts';
import type { ChannelName, ChannelSender } from '../channels/types.ts';
import { whatsappModule } from '../channels/whatsapp/module.ts';
import type { Config } from '../config/config.ts';
import { conversationModule } from '../conversation/module.ts';
import { type Database, openDatabase } from '../db/client.ts';
import { isServerShutdown, sqlState } from '../db/errors.ts';
import { migrate } from '../db/migrate.ts';
import { alertsModule } from '../features/alerts/module.ts';
import { onCallChannels } from '../features/alerts/notifiers.ts';
import { backupModule } from '../features/backup/module.ts';
import { buildApp } from '../http/app.ts';
import { securityModule } from '../http/security/module.ts';
import type { SheddingOptions } from '../http/security/shedding.ts';
import { inboxModule } from '../inbox/module.ts';
import type { InboxWriter } from '../inbox/writer.ts';
import type { Role, WadiModule } from '../kernel/module.ts';
import type { BackgroundService } from '../kernel/service.ts';
import { knowledgeModule } from '../knowledge/module.ts';
import { createMediaService } from '../media/factory.ts';
import { databaseCheck, migrationsCheck, redisCheck } from '../observability/health/checks.ts';
import { Health } from '../observability/health/health.ts';
import { createLogger, type LogKit } from '../observability/logging/logger.ts';
import { observabilityModule } from '../observability/module.ts';
import type { ModuleContext } from '../platform/context.ts';
import { sandboxModule } from '../sandbox/module.ts';
import type { SandboxState } from '../sandbox/state.ts';

/** The built-in features, in the order their routes and hooks are registered. */
export const FEATURES = [
  'security',
  'observability',
  'alerts',
  'whatsapp',
  'telegram',
  'knowledge',
  'tools',
  'conversation',
  'backup',
  'admin',
  'sandbox',
] as const;

/** One built-in feature. */
export type FeatureName = (typeof FEATURES)[number];

/** How to build a WADI. */
export interface WadiOptions {
  readonly role?: Role;
  /** An already-open database (tests); otherwise one is opened from the config. */
  readonly database?: Database;
  readonly logKit?: LogKit;
  /** Apply pending migrations before serving (default: WADI_MIGRATE_ON_START). */
  readonly migrate?: boolean;
  /** Built-in features whose contributions this WADI mounts and runs (default: all of FEATURES).
   * The objects other features depend on (inbox writer, assistant, senders) are built regardless. */
  readonly features?: readonly FeatureName[];
  /** Further modules appended after the built-in ones (tests); they may use the wiring. */
  readonly extraModules?: readonly ExtraModule[];
  /** Senders used instead of the configured channels' own (tests). */
  readonly senders?: readonly ChannelSender[];
  /** Admin API limits (tests). */
  readonly admin?: AdminOptions;
  /** Load-shedding tuning (tests). */
  readonly security?: SheddingOptions;
  /** Runs each start-up step (database, migrations) so the CLI can print a line for it; default: just runs it. */
  readonly step?: StartupStep;
}

/** A module added by a test or tool after the built-in ones; it may use the wiring. */
export type ExtraModule = (ctx: ModuleContext, wiring: WadiWiring) => WadiModule | Promise<WadiModule>;

/** The typed objects features exchange, for tests and tools that inspect a running WADI. */
export interface WadiWiring {
  readonly writer: InboxWriter;
  readonly inboxEvents: EventEmitter;
  readonly senders: ReadonlyMap<ChannelName, ChannelSender>;
  /** What admin reads (writable providers: a test may swap one). */
  readonly admin: AdminDeps;
  readonly sandboxState: SandboxState | undefined;
  readonly telegramWebhookInfo: TelegramWebhookInfoReader | undefined;
}

/** Wraps one start-up step: `summary` describes its result in a few words. */
export type StartupStep = <T>(name: string, run: () => Promise<T>, summary: (result: T) => string) => Promise<T>;

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
  readonly wiring: WadiWiring;
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
  const step: StartupStep = opts.step ?? ((_name, run) => run());
  const ownsDatabase = !opts.database;
  const database =
    opts.database ??
    (await step(
      'database',
      () =>
        openDatabase({
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
        }),
      () =>
        config.database.embedded
          ? `embedded PGlite in ${config.database.dataDir}`
          : `PostgreSQL at ${URL.parse(config.database.url ?? '')?.host ?? '?'}`,
    ));

  try {
    if (opts.migrate ?? config.env.WADI_MIGRATE_ON_START) {
      const applied = await step(
        'migrations',
        () => migrate(database),
        (n) => (n > 0 ? `${n} applied` : 'up to date'),
      );
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
    localBaseUrl: () =>
      config.env.WADI_SANDBOX_URL?.replace(/\/$/, '') ?? listeningUrl ?? `http://127.0.0.1:${config.env.PORT}`,
  };
  const wanted = new Set<FeatureName>(opts.features ?? FEATURES);
  const on = (f: FeatureName) => wanted.has(f);

  // Built in dependency order; each factory gets exactly what it declares.
  const inbox = inboxModule(context);
  const whatsapp = whatsappModule(context, { writer: inbox.writer });
  const telegram = telegramModule(context, { writer: inbox.writer });
  const senders = new Map<ChannelName, ChannelSender>();
  for (const s of opts.senders ?? [whatsapp.sender, telegram.sender]) if (s) senders.set(s.channel, s);
  const assistant = createAssistant(config, () => context.localBaseUrl(), { redis, logger });
  const observability = observabilityModule({ metricsToken: config.env.METRICS_TOKEN });
  const alerts = alertsModule(context, {
    stats: observability.stats,
    limits: observability.limits,
    assistant,
    telegramWebhookInfo: on('telegram') ? telegram.webhookInfo : undefined,
  });
  const outboxEvents = new EventEmitter();
  const knowledge = knowledgeModule(context);
  const tools = toolsModule(context);
  const media = createMediaService(config, () => context.localBaseUrl());
  const conversation = conversationModule(context, {
    assistant,
    senders,
    inboxEvents: inbox.events,
    outboxEvents,
    onCall: onCallChannels(config.env),
    tools: on('tools') ? tools.tools : undefined,
    media,
  });
  const sandbox = sandboxModule(context);
  const adminDeps: AdminDeps = {
    stats: on('observability') ? observability.stats : undefined,
    alerts: on('alerts') ? alerts.alerts : undefined,
    dependencyChecks: [
      ...(on('whatsapp') ? whatsapp.dependencyChecks : []),
      ...(on('telegram') ? telegram.dependencyChecks : []),
      ...(on('conversation') ? [assistantCheck(assistant)] : []),
    ],
    inboxEvents: inbox.events,
    sandboxState: on('sandbox') ? sandbox.state : undefined,
    wakeOutbox: () => outboxEvents.emit('queued'),
  };
  const built: Record<FeatureName, () => WadiModule> = {
    security: () => securityModule(context, opts.security),
    observability: () => observability.module,
    alerts: () => alerts.module,
    whatsapp: () => whatsapp.module,
    telegram: () => telegram.module,
    knowledge: () => knowledge.module,
    tools: () => tools.module,
    conversation: () => conversation,
    backup: () => backupModule(context),
    admin: () => adminModule(context, adminDeps, opts.admin),
    sandbox: () => sandbox.module,
  };
  const modules: WadiModule[] = [inbox.module, ...FEATURES.filter(on).map((f) => built[f]())];
  const wiring: WadiWiring = {
    writer: inbox.writer,
    inboxEvents: inbox.events,
    senders,
    admin: adminDeps,
    sandboxState: sandbox.state,
    telegramWebhookInfo: telegram.webhookInfo,
  };
  for (const factory of opts.extraModules ?? []) modules.push(await factory(context, wiring));
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
    wiring,
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
