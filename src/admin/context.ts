/**
 * What every admin route file gets: the module context, the typed providers other features hand
 * to admin, and the audit writer bound to the caller.
 */
import type { EventEmitter } from 'node:events';
import type { FastifyRequest } from 'fastify';
import type { AlertsProvider } from '../features/alerts/engine.ts';
import type { HealthCheck } from '../kernel/health.ts';
import type { StatsProvider } from '../observability/metrics/window-stats.ts';
import type { ModuleContext } from '../platform/context.ts';
import type { SandboxState } from '../sandbox/state.ts';
import { writeAudit } from './audit.ts';

/** Fingerprint of the key each authenticated request used (set by the auth hook). */
const fingerprints = new WeakMap<FastifyRequest, string>();

/** Remembers which key authenticated `req`. */
export function setActor(req: FastifyRequest, keyFingerprint: string): void {
  fingerprints.set(req, keyFingerprint);
}

/** The fingerprint of the key that authenticated `req` ('unknown' outside the authenticated API). */
export function actorOf(req: FastifyRequest): string {
  return fingerprints.get(req) ?? 'unknown';
}

/**
 * What admin reads from other features, passed by the composition root. A provider is undefined
 * when its feature is not part of this WADI (the route then answers 503). Fields are writable so a
 * test can put a provider of its own in place for one request.
 */
export interface AdminDeps {
  /** Request statistics (observability); /admin/stats. */
  stats: StatsProvider | undefined;
  /** Alert state (features/alerts); /admin/alerts. */
  alerts: AlertsProvider | undefined;
  /** Extra dependency checks shown by /admin/health (LLM, Graph API token, Telegram webhook). */
  readonly dependencyChecks: HealthCheck[];
  /** The inbox's 'committed' events: a replayed dead letter wakes this process's workers. */
  readonly inboxEvents: EventEmitter;
  /** The sandbox state, in sandbox mode on a web process. */
  sandboxState: SandboxState | undefined;
  /** Wakes this process's outbox dispatcher (an operator's message goes out now, not at the next poll). */
  readonly wakeOutbox?: () => void;
}

/** The admin API's view of WADI. */
export interface AdminContext {
  readonly ctx: ModuleContext;
  readonly deps: AdminDeps;
  /** Records an admin action by the caller of `req`. */
  audit(req: FastifyRequest, action: string, target?: string, detail?: Record<string, unknown>): Promise<void>;
}

/** Builds the admin context over a module context. */
export function adminContext(ctx: ModuleContext, deps: AdminDeps): AdminContext {
  return {
    ctx,
    deps,
    audit: (req, action, target, detail) =>
      writeAudit(ctx.database, {
        keyFingerprint: actorOf(req),
        action,
        target,
        ip: req.ip,
        detail,
      }),
  };
}
