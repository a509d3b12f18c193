/** The audit trail of admin actions (table audit_log): who (key fingerprint), what, on what, from where. */
import type { Queryable } from '../db/client.ts';

/** One admin action to record. */
export interface AuditEntry {
  readonly keyFingerprint: string;
  /** Dotted verb, e.g. `session.pause`, `message.replay`, `sandbox.send`. */
  readonly action: string;
  /** What it acted on, e.g. `conversation:12`, `inbox:40`. */
  readonly target?: string;
  readonly ip?: string;
  /** Extra context; never secrets or message bodies. */
  readonly detail?: Record<string, unknown>;
}

/** Writes one audit row. */
export async function writeAudit(db: Queryable, e: AuditEntry): Promise<void> {
  await db.query('insert into audit_log (key_fingerprint, action, target, ip, detail) values ($1, $2, $3, $4, $5)', [
    e.keyFingerprint,
    e.action,
    e.target ?? null,
    e.ip ?? null,
    e.detail ? JSON.stringify(e.detail) : null,
  ]);
}
