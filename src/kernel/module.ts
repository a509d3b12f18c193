/**
 * What a feature contributes to a running WADI. The composition root (src/app) builds each
 * feature with the typed dependencies it declares and collects these contributions; this file
 * imports nothing of the app, so every layer can use it.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { HealthCheck } from './health.ts';
import type { BackgroundService } from './service.ts';

/** Which parts of WADI this process runs. */
export type Role = 'all' | 'web' | 'worker';

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
