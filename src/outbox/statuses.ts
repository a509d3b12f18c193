/**
 * Delivery statuses of outbound messages: status webhooks (sent → delivered → read, or failed)
 * move `outbox_messages` forward, never backwards. The channel says what a failure means
 * (`StatusEvent.error.reason`, e.g. WhatsApp 131047 → `window_closed`); this module applies it.
 * Status events are stored in `status_events` (deduped on (channel, platform id, status)) by the
 * inbox writer's intake transaction; one whose outbound row has no platform id yet is stored
 * unapplied and applied when the dispatcher records the id.
 */
import type { StatusEvent } from '../channels/types.ts';
import type { Queryable } from '../db/client.ts';

// Status rank: an outbound message only moves to a higher rank (pending/sending are 0).
const RANK_SQL = `case $STATUS when 'sent' then 1 when 'delivered' then 2 when 'read' then 3 when 'played' then 3 when 'failed' then 4 else 0 end`;
const rank = (expr: string) => RANK_SQL.replace('$STATUS', expr);

/** The outbox update of applyStatuses, over a CTE named `agg` (one row per platform message). */
const OUTBOX_UPDATE = `update outbox_messages o set
         status = case when ${rank('a.top')} > ${rank('o.status')} then a.top else o.status end,
         delivered_at = coalesce(o.delivered_at, a.delivered_at),
         read_at = coalesce(o.read_at, a.read_at),
         failed_at = coalesce(o.failed_at, a.failed_at),
         error_code = coalesce(a.err->>'code', o.error_code),
         error_title = coalesce(a.err->>'title', o.error_title),
         error_detail = coalesce(a.err->>'detail', o.error_detail),
         failure_reason = case when a.failed_at is null then o.failure_reason
           else coalesce(o.failure_reason, a.err->>'reason', 'platform_failed') end
       from agg a
       where o.channel = a.channel and o.platform_message_id = a.platform_message_id`;

/** Aggregates status rows of a CTE named `src` into `agg`. */
const AGG = `agg as (
       select channel, platform_message_id,
         (array_agg(status order by ${rank('status')} desc))[1] as top,
         min(occurred_at) filter (where status in ('delivered', 'read', 'played')) as delivered_at,
         min(occurred_at) filter (where status in ('read', 'played')) as read_at,
         min(occurred_at) filter (where status = 'failed') as failed_at,
         (array_agg(detail) filter (where status = 'failed'))[1]->'error' as err
       from src group by channel, platform_message_id
     )`;

/**
 * Stores new status events and applies them to their outbound messages in one statement; returns
 * the keys of the events newly stored (the others were duplicates). A status whose outbound row does
 * not know its platform id yet is stored unapplied; the dispatcher applies it when it records the id
 * (applyPendingStatuses).
 */
export async function storeAndApplyStatuses(
  tx: Queryable,
  statuses: readonly StatusEvent[],
): Promise<{ channel: string; platform_message_id: string; status: string }[]> {
  const { rows } = await tx.query<{ channel: string; platform_message_id: string; status: string }>(
    `with k as (
       select * from unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::jsonb[])
         as k(channel, pid, status, occurred_at, detail)
     ), ins as (
       insert into status_events (channel, platform_message_id, status, occurred_at, detail, applied)
       select k.channel, k.pid, k.status, k.occurred_at, k.detail,
              exists (select 1 from outbox_messages o where o.channel = k.channel and o.platform_message_id = k.pid)
       from k
       on conflict do nothing
       returning channel, platform_message_id, status, occurred_at, detail, applied
     ), src as (select * from ins where applied), ${AGG}, upd as (${OUTBOX_UPDATE} returning o.id)
     select channel, platform_message_id, status from ins`,
    [
      statuses.map((s) => s.channel),
      statuses.map((s) => s.platformMessageId),
      statuses.map((s) => s.status),
      statuses.map((s) => s.occurredAt),
      statuses.map((s) => JSON.stringify({ recipientId: s.recipientId, error: s.error })),
    ],
  );
  return rows;
}

/**
 * Moves outbound messages forward by their status events, never backwards: a late `delivered`
 * does not overwrite `read`; `failed` keeps the platform's error. Events whose outbound row is not
 * recorded yet stay unapplied until the dispatcher records the platform id (see applyPendingStatuses).
 */
export async function applyStatuses(
  tx: Queryable,
  keys: readonly { channel: string; platform_message_id: string; status: string }[],
): Promise<void> {
  await tx.query(
    `with src as (
       select s.* from status_events s
       join unnest($1::text[], $2::text[], $3::text[]) as k(channel, pid, status)
         on s.channel = k.channel and s.platform_message_id = k.pid and s.status = k.status
     ), ${AGG}, upd as (${OUTBOX_UPDATE} returning o.channel, o.platform_message_id)
     update status_events s set applied = true from upd, src
     where s.channel = upd.channel and s.platform_message_id = upd.platform_message_id
       and src.channel = s.channel and src.platform_message_id = s.platform_message_id and src.status = s.status`,
    [keys.map((k) => k.channel), keys.map((k) => k.platform_message_id), keys.map((k) => k.status)],
  );
}

/** Applies status events that arrived before their outbound row knew its platform id. */
export async function applyPendingStatuses(tx: Queryable, channel: string, platformMessageId: string): Promise<void> {
  const { rows } = await tx.query<{ channel: string; platform_message_id: string; status: string }>(
    `select channel, platform_message_id, status from status_events
     where channel = $1 and platform_message_id = $2 and not applied order by occurred_at`,
    [channel, platformMessageId],
  );
  if (rows.length > 0) await applyStatuses(tx, rows);
}
