/**
 * The process's shared infrastructure, handed to every feature factory by the composition root:
 * configuration, logging, database, Redis, the readiness registry and the role. Objects one feature
 * builds for another (the inbox writer, senders, stats...) are not here: the composition root passes
 * them as typed arguments to the factories that need them.
 */
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Config } from '../config/config.ts';
import type { Database } from '../db/client.ts';
import type { Role, WadiModule } from '../kernel/module.ts';
import type { Health } from '../observability/health/health.ts';
import type { LogRing } from '../observability/logging/log-ring.ts';

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
}

/** A feature that needs only the context (extra modules in tests, simple features). */
export type ModuleFactory = (ctx: ModuleContext) => WadiModule | Promise<WadiModule>;
