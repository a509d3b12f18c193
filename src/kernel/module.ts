/**
 * How a feature plugs into WADI: a factory receives the shared context and returns the routes,
 * background services and readiness checks it contributes. The composition root (wadi.ts) owns
 * the order; features never import each other's internals.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Config } from '../config/config.ts';
import type { Database } from '../db/client.ts';
import type { BackgroundService } from './service.ts';
import type { Health, HealthCheck } from '../observability/health/health.ts';
import type { LogRing } from '../observability/logging/log-ring.ts';

/** Which parts of WADI this process runs. */
export type Role = 'all' | 'web' | 'worker';

/** What every feature can use. */
export interface ModuleContext {
  readonly config: Config;
  readonly logger: Logger;
  readonly logRing: LogRing;
  readonly database: Database;
  readonly redis?: Redis;
  readonly health: Health;
  readonly role: Role;
  /** Where the sandbox fakes answer: WADI_SANDBOX_URL when set (a worker process pointing at its web
   * process), else http://127.0.0.1:PORT of this process once listening (else the configured port). */
  localBaseUrl(): string;
  /** Shared objects registered by earlier modules (e.g. the channel registry), by name. */
  readonly registry: Map<string, unknown>;
}

/** What a feature contributes. */
export interface WadiModule {
  readonly name: string;
  readonly prePlugins?: readonly FastifyPluginAsync[];
  readonly plugins?: readonly FastifyPluginAsync[];
  readonly services?: readonly BackgroundService[];
  readonly checks?: readonly HealthCheck[];
  /** Runs after the HTTP server listens (e.g. to register a webhook). */
  afterListen?(): Promise<void>;
  /** Runs last at shutdown, after services stopped (close clients, flush). */
  close?(): Promise<void>;
}

/** Builds a module from the context; may register shared objects in `ctx.registry`. */
export type ModuleFactory = (ctx: ModuleContext) => WadiModule | Promise<WadiModule>;
