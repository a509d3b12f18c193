/**
 * Forgetting people: erasure of one user on request (`DELETE /admin/users/:channel/:id`) and the
 * RETENTION_DAYS purge of old message content. Both span every table that holds what users wrote
 * or were sent (inbox, outbox, status events, history, conversations), so they live in the db
 * layer rather than in any one module.
 */
import { createHash } from 'node:crypto';
import type { Queryable } from './client.ts';

/** What an erasure removed. */
export interface ErasureResult {
  conversations: number;
  inbound: number;
  outbound: number;
  history: number;
  statusEvents: number;
  /** Tool calls of the erased turns and conversations (arguments and results are content). */
  toolCalls: number;
  /** Raw deliveries the database could not store that carry the user's id. */
  unstorable: number;
}

/**
 * A stable, non-reversible name for a user in the audit log: SHA-256 of `channel:id`, so the log
 * can show that the same person was erased twice without keeping who they were.
 */
export function userHash(channel: string, userId: string): string {
  return createHash('sha256').update(`${channel}:${userId}`, 'utf8').digest('hex');
}

/**
 * Removes everything of one user in one transaction: their private conversations (chat id or user
 * id equal to `userId`) with all messages, replies, delivery statuses and history, and their own
 * messages in group chats (with the replies to them), the tool calls made for them, and the raw
 * unstorable deliveries of that channel whose bytes name the user's id (as a whole number or string,
 * not as part of a longer one). Work in flight for those rows disappears
 * with them: a worker holding the conversation loses its lease and commits nothing.
 */
export async function eraseUser(tx: Queryable, channel: string, userId: string): Promise<ErasureResult> {
  const { rows } = await tx.query<Record<string, number>>(
    `with convs as (
       select id from conversations where channel = $1 and (chat_id = $2 or user_id = $2) for update
     ), ins as (
       select id from inbox_messages
       where channel = $1 and (conversation_id in (select id from convs) or event->>'userId' = $2)
     ), outs as (
       select id, platform_message_id from outbox_messages
       where channel = $1 and (conversation_id in (select id from convs) or inbox_id in (select id from ins))
     ), del_status as (
       delete from status_events s where s.channel = $1 and (
         s.platform_message_id in (select platform_message_id from outs where platform_message_id is not null)
         or s.detail->>'recipientId' = $2)
       returning 1
     ), del_out as (
       delete from outbox_messages where id in (select id from outs) returning 1
     ), del_in as (
       delete from inbox_messages where id in (select id from ins) returning 1
     ), del_hist as (
       delete from history where conversation_id in (select id from convs) returning 1
     ), del_tools as (
       delete from tool_calls
       where conversation_id in (select id from convs) or inbox_id in (select id from ins) returning 1
     ), del_unstorable as (
       delete from unstorable_deliveries u where u.channel = $1
         and encode(decode(u.raw_base64, 'base64'), 'escape') ~ $3
       returning 1
     )
     select (select count(*) from del_in)::int as inbound,
       (select count(*) from del_out)::int as outbound, (select count(*) from del_hist)::int as history,
       (select count(*) from del_status)::int as status_events, (select count(*) from del_tools)::int as tool_calls,
       (select count(*) from del_unstorable)::int as unstorable`,
    [channel, userId, idPattern(userId)],
  );
  // Conversations last: the CTE deletes above run on the statement's snapshot, and the foreign
  // keys from inbox/outbox/history must be gone before their conversation row can go.
  const convs = await tx.query(
    `delete from conversations where channel = $1 and (chat_id = $2 or user_id = $2)
       and not exists (select 1 from inbox_messages i where i.conversation_id = conversations.id)
       and not exists (select 1 from outbox_messages o where o.conversation_id = conversations.id)
       and not exists (select 1 from history h where h.conversation_id = conversations.id)
     returning id`,
    [channel, userId],
  );
  const r = rows[0] ?? {};
  return {
    conversations: convs.rows.length,
    inbound: Number(r.inbound ?? 0),
    outbound: Number(r.outbound ?? 0),
    history: Number(r.history ?? 0),
    statusEvents: Number(r.status_events ?? 0),
    toolCalls: Number(r.tool_calls ?? 0),
    unstorable: Number(r.unstorable ?? 0),
  };
}

/**
 * A PostgreSQL regular expression matching `id` as a whole token in `encode(bytes, 'escape')`
 * text: not preceded or followed by a letter or digit, so erasing 555123 leaves 15551234 alone.
 */
function idPattern(id: string): string {
  const escaped = id.replace(/[\\^$.|?*+()[\]{}-]/g, (c) => `\\${c}`);
  return `(^|[^0-9A-Za-z])${escaped}([^0-9A-Za-z]|$)`;
}

/** What a retention purge changed. */
export interface PurgeResult {
  inbound: number;
  outbound: number;
  history: number;
  /** Tool calls whose arguments and result were dropped (tool, outcome and timings stay). */
  toolCalls: number;
  /** Unstorable deliveries whose raw bytes were dropped (channel, reason, items and size stay). */
  unstorable: number;
}

/**
 * Removes the content of messages older than `days` (before `now`, the database's clock unless
 * given) while keeping the rows, so per-conversation counts, statuses and timings stay: inbound
 * events keep only their kind and channel (and lose what was understood of their media:
 * transcripts, document text), outbound bodies become empty, history rows go, tool calls lose
 * their arguments and result (not those of a turn still pending or in progress), unstorable
 * deliveries lose their raw bytes. At most `batch` rows of each table per call (the schedule calls
 * again until nothing is left), so one purge never holds long locks.
 */
export async function purgeOldContent(db: Queryable, days: number, batch = 5000, now?: Date): Promise<PurgeResult> {
  const { rows } = await db.query<Record<string, number>>(
    `with cutoff as (
       select coalesce($3::timestamptz, now()) - make_interval(days => $1::int) as at
     ), old_in as (
       select id from inbox_messages
       where received_at < (select at from cutoff) and status not in ('pending', 'processing')
         and not (event ? 'purged') limit $2 for update skip locked
     ), upd_in as (
       update inbox_messages i set event = jsonb_build_object('purged', true, 'kind', i.kind, 'channel', i.channel),
         last_error = null, media = null
       from old_in where i.id = old_in.id returning 1
     ), old_out as (
       select id from outbox_messages
       where created_at < (select at from cutoff) and status not in ('pending', 'sending')
         and body <> '' limit $2 for update skip locked
     ), upd_out as (
       update outbox_messages o set body = '', error_detail = null, options = '{}'::jsonb
       from old_out where o.id = old_out.id returning 1
     ), old_hist as (
       select id from history where created_at < (select at from cutoff) limit $2
     ), del_hist as (
       delete from history h using old_hist where h.id = old_hist.id returning 1
     ), old_tools as (
       select t.id from tool_calls t
       where t.started_at < (select at from cutoff) and not (t.arguments ? 'purged')
         and not exists (
           select 1 from inbox_messages i where i.id = t.inbox_id and i.status in ('pending', 'processing'))
       limit $2 for update of t skip locked
     ), upd_tools as (
       update tool_calls t set arguments = '{"purged": true}'::jsonb, result = null
       from old_tools where t.id = old_tools.id returning 1
     ), old_unstorable as (
       select id from unstorable_deliveries
       where received_at < (select at from cutoff) and raw_base64 <> '' limit $2 for update skip locked
     ), upd_unstorable as (
       update unstorable_deliveries u set raw_base64 = ''
       from old_unstorable where u.id = old_unstorable.id returning 1
     )
     select (select count(*) from upd_in)::int as inbound, (select count(*) from upd_out)::int as outbound,
       (select count(*) from del_hist)::int as history, (select count(*) from upd_tools)::int as tool_calls,
       (select count(*) from upd_unstorable)::int as unstorable`,
    [days, batch, now ?? null],
  );
  const r = rows[0] ?? {};
  return {
    inbound: Number(r.inbound ?? 0),
    outbound: Number(r.outbound ?? 0),
    history: Number(r.history ?? 0),
    toolCalls: Number(r.tool_calls ?? 0),
    unstorable: Number(r.unstorable ?? 0),
  };
}
