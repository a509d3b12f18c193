/** What every admin route file gets: the module context and the audit writer bound to the caller. */
import type { FastifyRequest } from 'fastify';
import type { ModuleContext } from '../app/module.ts';
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

/** The admin API's view of WADI. */
export interface AdminContext {
  readonly ctx: ModuleContext;
  /** Records an admin action by the caller of `req`. */
  audit(req: FastifyRequest, action: string, target?: string, detail?: Record<string, unknown>): Promise<void>;
}

/** Builds the admin context over a module context. */
export function adminContext(ctx: ModuleContext): AdminContext {
  return {
    ctx,
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
