/**
 * "Are users being answered right now?" in one query set for the Overview's status strip: when
 * each channel last heard from a user, messages in and out per minute over the last 5 minutes,
 * median and p95 time-to-reply over the last 15 minutes (inbound received → first reply part
 * accepted by the platform), and what needs attention (failed, retrying, needs-human, unanswered,
 * dead). Computed from the database, so the dashboard's own polling and the sandbox's fake-API
 * calls never count as traffic.
 */
import type { Queryable } from '../db/client.ts';
import type { Failures, OutboundFailure, StatusView } from './contract.ts';
import { iso, listDeadLetters } from './queries.ts';

/** Minutes the per-minute rates average over, and the time-to-reply window. */
export const RATE_MINUTES = 5;
export const REPLY_MINUTES = 15;

/** The status strip's numbers. */
export async function statusView(db: Queryable): Promise<StatusView> {
  const last = await db.query<{ channel: string; at: unknown }>(
    `select channel, max(received_at) as at from inbox_messages group by channel order by channel`,
  );
  const rates = await db.query<{ inbound: number; outbound: number }>(
    `select (select count(*)::int from inbox_messages where received_at > now() - make_interval(mins => $1::int)) as inbound,
            (select count(*)::int from outbox_messages where sent_at > now() - make_interval(mins => $1::int)) as outbound`,
    [RATE_MINUTES],
  );
  const reply = await db.query<{ p50: number | null; p95: number | null; n: number }>(
    `select percentile_cont(0.5) within group (order by ms) as p50,
            percentile_cont(0.95) within group (order by ms) as p95, count(*)::int as n
     from (select extract(epoch from o.sent_at - i.received_at) * 1000 as ms
           from outbox_messages o join inbox_messages i on i.id = o.inbox_id
           where o.part = 0 and o.sent_at > now() - make_interval(mins => $1::int)) r`,
    [REPLY_MINUTES],
  );
  const attention = await db.query<Record<string, number>>(
    `select
       (select count(*)::int from outbox_messages where status = 'failed' and failed_at > now() - interval '24 hours') as failed,
       (select count(*)::int from outbox_messages where status in ('pending', 'sending') and attempts > 0) as retrying,
       (select count(*)::int from conversations where handoff_requested_at is not null) as needs_human,
       (select count(*)::int from inbox_messages where status = 'unanswered') as unanswered,
       (select count(*)::int from inbox_messages where status = 'dead') as dead`,
  );
  const a = attention.rows[0] ?? {};
  const r = reply.rows[0];
  const round = (v: unknown) => (v === null || v === undefined ? null : Math.round(Number(v)));
  return {
    checkedAt: new Date().toISOString(),
    lastInbound: last.rows.map((x) => ({ channel: String(x.channel), at: iso(x.at) })),
    perMinute: {
      inbound: Math.round((Number(rates.rows[0]?.inbound ?? 0) / RATE_MINUTES) * 10) / 10,
      outbound: Math.round((Number(rates.rows[0]?.outbound ?? 0) / RATE_MINUTES) * 10) / 10,
      minutes: RATE_MINUTES,
    },
    timeToReply: { p50Ms: round(r?.p50), p95Ms: round(r?.p95), replies: Number(r?.n ?? 0), minutes: REPLY_MINUTES },
    attention: {
      failed: Number(a.failed ?? 0),
      retrying: Number(a.retrying ?? 0),
      needsHuman: Number(a.needs_human ?? 0),
      unanswered: Number(a.unanswered ?? 0),
      dead: Number(a.dead ?? 0),
    },
  };
}

/** Failed (last 7 days) and retrying outbound messages, newest first, and the newest dead letters. */
export async function failuresView(db: Queryable, limit: number): Promise<Failures> {
  const { rows } = await db.query<Record<string, unknown>>(
    `(select id, channel, chat_id, conversation_id, kind, body, status, attempts, failure_reason, error_code,
        error_title, created_at, failed_at, null::timestamptz as next_at
      from outbox_messages where status = 'failed' and failed_at > now() - interval '7 days'
      order by failed_at desc limit $1)
     union all
     (select id, channel, chat_id, conversation_id, kind, body, status, attempts, failure_reason, error_code,
        error_title, created_at, failed_at, available_at as next_at
      from outbox_messages where status in ('pending', 'sending') and attempts > 0
      order by id desc limit $1)`,
    [limit],
  );
  const view = (r: Record<string, unknown>): OutboundFailure => ({
    id: Number(r.id),
    channel: String(r.channel),
    chatId: String(r.chat_id),
    conversationId: r.conversation_id == null ? null : Number(r.conversation_id),
    kind: String(r.kind),
    text: String(r.body),
    status: String(r.status),
    attempts: Number(r.attempts),
    failureReason: (r.failure_reason as string | null) ?? null,
    errorCode: (r.error_code as string | null) ?? null,
    errorTitle: (r.error_title as string | null) ?? null,
    createdAt: iso(r.created_at),
    failedAt: iso(r.failed_at, true),
    nextAttemptAt: iso(r.next_at, true),
  });
  const all = rows.map(view);
  const dead = await listDeadLetters(db, undefined, limit);
  return {
    failed: all.filter((f) => f.status === 'failed'),
    retrying: all.filter((f) => f.status !== 'failed'),
    dead: dead.items,
  };
}
