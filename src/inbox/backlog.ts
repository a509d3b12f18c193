/**
 * The inbox backlog, computed in one place for the gauges (wadi_inbox_pending,
 * wadi_inbox_oldest_pending_seconds), the admin queue stats and the InboxBacklog alert.
 */
import type { Queryable } from '../db/client.ts';

/** Messages waiting (pending), in a turn (processing) and dead, and when the oldest waiting one arrived. */
export interface InboxBacklog {
  readonly pending: number;
  readonly processing: number;
  readonly dead: number;
  /** received_at of the oldest pending or processing message; null when nothing waits. */
  readonly oldestPendingAt: Date | null;
}

/** Reads the backlog. */
export async function inboxBacklog(db: Queryable): Promise<InboxBacklog> {
  const { rows } = await db.query<{ pending: number; processing: number; dead: number; oldest: Date | string | null }>(
    `select
       count(*) filter (where status = 'pending')::int as pending,
       count(*) filter (where status = 'processing')::int as processing,
       count(*) filter (where status = 'dead')::int as dead,
       min(received_at) filter (where status in ('pending', 'processing')) as oldest
     from inbox_messages where status in ('pending', 'processing', 'dead')`,
  );
  const r = rows[0];
  return {
    pending: Number(r?.pending ?? 0),
    processing: Number(r?.processing ?? 0),
    dead: Number(r?.dead ?? 0),
    oldestPendingAt: r?.oldest ? new Date(r.oldest) : null,
  };
}

/** Age in seconds of the oldest waiting message at `now` (never negative); null when nothing waits. */
export function oldestPendingSeconds(backlog: InboxBacklog, now: number): number | null {
  return backlog.oldestPendingAt ? Math.max(0, (now - backlog.oldestPendingAt.getTime()) / 1000) : null;
}
