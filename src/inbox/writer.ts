/**
 * Durable intake: stores inbound events and status webhooks before the webhook is acknowledged.
 *
 * Concurrent webhook requests share one transaction (group commit): while a flush is running, new
 * requests queue up and go together in the next one, so ingest costs one commit per batch rather
 * than one per request. Every caller's promise resolves only after its rows are committed.
 * Dedupe is by unique keys: (channel, external_id) for events, (channel, id, status) for statuses.
 */

import type { InboundEvent, StatusEvent } from '../channels/types.ts';
import type { Database, Queryable } from '../db/client.ts';

/** What one `accept` call stored. */
export interface AcceptResult {
  /** Events newly stored. */
  readonly accepted: number;
  /** Events already stored before (redeliveries). */
  readonly duplicates: number;
  /** Status items newly stored. */
  readonly statuses: number;
  /** Status items already seen. */
  readonly duplicateStatuses: number;
  /** Inbox ids of the newly stored events, in input order. */
  readonly ids: readonly number[];
}

interface Pending {
  readonly events: readonly InboundEvent[];
  readonly statuses: readonly StatusEvent[];
  readonly traceContext?: string;
  resolve(r: AcceptResult): void;
  reject(err: unknown): void;
}

/** Tuning for the group commit. */
export interface InboxWriterOptions {
  /** Flushes allowed at once (connections used for ingest). */
  readonly maxConcurrentFlushes?: number;
  /** Events per transaction at most. */
  readonly maxBatchEvents?: number;
  /** Called after each commit with the ids of new events (to wake local workers). */
  readonly onCommitted?: (ids: readonly number[]) => void;
}

const RANK_SQL = `case $STATUS when 'sent' then 1 when 'delivered' then 2 when 'read' then 3 when 'played' then 3 when 'failed' then 4 else 0 end`;
const rank = (expr: string) => RANK_SQL.replace('$STATUS', expr);

/** The group-committing inbox writer. One per process. */
export class InboxWriter {
  private queue: Pending[] = [];
  private flushing = 0;
  private readonly maxFlushes: number;
  private readonly maxBatch: number;
  private readonly database: Database;
  private readonly onCommitted?: (ids: readonly number[]) => void;

  constructor(database: Database, opts: InboxWriterOptions = {}) {
    this.database = database;
    this.maxFlushes = opts.maxConcurrentFlushes ?? (database.kind === 'pglite' ? 1 : 2);
    this.maxBatch = opts.maxBatchEvents ?? 2000;
    this.onCommitted = opts.onCommitted;
  }

  /** Stores the events and statuses of one webhook delivery; resolves after the commit. */
  accept(
    events: readonly InboundEvent[],
    statuses: readonly StatusEvent[] = [],
    traceContext?: string,
  ): Promise<AcceptResult> {
    if (events.length === 0 && statuses.length === 0) {
      return Promise.resolve({ accepted: 0, duplicates: 0, statuses: 0, duplicateStatuses: 0, ids: [] });
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ events, statuses, traceContext, resolve, reject });
      if (this.flushing < this.maxFlushes) void this.flush();
    });
  }

  private async flush(): Promise<void> {
    this.flushing++;
    try {
      while (this.queue.length > 0) {
        const batch: Pending[] = [];
        let n = 0;
        while (this.queue.length > 0 && (batch.length === 0 || n + this.queue[0].events.length <= this.maxBatch)) {
          const p = this.queue.shift() as Pending;
          n += p.events.length + p.statuses.length;
          batch.push(p);
        }
        try {
          const results = await this.database.transaction((tx) => writeBatch(tx, batch));
          for (const [i, p] of batch.entries()) p.resolve(results[i]);
          const ids = results.flatMap((r) => r.ids);
          if (ids.length > 0) this.onCommitted?.(ids);
        } catch (err) {
          for (const p of batch) p.reject(err);
        }
      }
    } finally {
      this.flushing--;
    }
  }
}

async function writeBatch(tx: Queryable, batch: readonly Pending[]): Promise<AcceptResult[]> {
  const events = batch.flatMap((p) => p.events.map((e) => ({ e, trace: p.traceContext })));
  const statuses = batch.flatMap((p) => p.statuses);
  const newIds = new Map<string, number>();

  if (events.length > 0) {
    // Conversations first, in a fixed order, so concurrent flushes lock rows in the same order.
    const chats = new Map<string, InboundEvent>();
    for (const { e } of events) {
      const key = `${e.channel}\u0000${e.chatId}`;
      const prev = chats.get(key);
      if (!prev || prev.sentAt < e.sentAt) chats.set(key, e);
    }
    const sorted = [...chats.values()].sort((a, b) =>
      a.channel === b.channel ? (a.chatId < b.chatId ? -1 : 1) : a.channel < b.channel ? -1 : 1,
    );
    const conv = await tx.query<{ id: number; channel: string; chat_id: string }>(
      `insert into conversations (channel, chat_id, user_id, display_name, chat_type, locale, last_seen_at)
       select * from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::timestamptz[])
       on conflict (channel, chat_id) do update set
         last_seen_at = greatest(conversations.last_seen_at, excluded.last_seen_at),
         display_name = coalesce(excluded.display_name, conversations.display_name),
         user_id = coalesce(conversations.user_id, excluded.user_id),
         chat_type = excluded.chat_type,
         locale = coalesce(conversations.locale, excluded.locale)
       returning id, channel, chat_id`,
      [
        sorted.map((e) => e.channel),
        sorted.map((e) => e.chatId),
        sorted.map((e) => e.userId),
        sorted.map((e) => e.displayName ?? null),
        sorted.map((e) => e.chatType),
        sorted.map((e) => e.locale ?? null),
        sorted.map((e) => e.sentAt),
      ],
    );
    const convId = new Map(conv.rows.map((r) => [`${r.channel}\u0000${r.chat_id}`, r.id]));

    const inserted = await tx.query<{ id: number; channel: string; external_id: string }>(
      `insert into inbox_messages (channel, external_id, chat_id, conversation_id, kind, event, status, sent_at, trace_context)
       select * from unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::jsonb[], $7::text[], $8::timestamptz[], $9::text[])
       on conflict (channel, external_id) do nothing
       returning id, channel, external_id`,
      [
        events.map(({ e }) => e.channel),
        events.map(({ e }) => e.externalId),
        events.map(({ e }) => e.chatId),
        events.map(({ e }) => convId.get(`${e.channel}\u0000${e.chatId}`) ?? null),
        events.map(({ e }) => e.kind),
        events.map(({ e }) => JSON.stringify(e)),
        events.map(({ e }) => (e.answer ? 'pending' : 'ignored')),
        events.map(({ e }) => e.sentAt),
        events.map(({ trace }) => trace ?? null),
      ],
    );
    for (const r of inserted.rows) newIds.set(`${r.channel}\u0000${r.external_id}`, r.id);

    // Count only what is new; the user's last message opens WhatsApp's 24 h window.
    const perConv = new Map<number, { n: number; last: string }>();
    for (const { e } of events) {
      if (!newIds.has(`${e.channel}\u0000${e.externalId}`) || e.kind === 'reaction' || e.kind === 'edited') continue;
      const id = convId.get(`${e.channel}\u0000${e.chatId}`);
      if (id === undefined) continue;
      const cur = perConv.get(id) ?? { n: 0, last: e.sentAt };
      cur.n++;
      if (e.sentAt > cur.last) cur.last = e.sentAt;
      perConv.set(id, cur);
    }
    if (perConv.size > 0) {
      const ids = [...perConv.keys()].sort((a, b) => a - b);
      await tx.query(
        `update conversations c set messages_in = c.messages_in + u.n,
           last_inbound_at = greatest(c.last_inbound_at, u.last)
         from unnest($1::bigint[], $2::int[], $3::timestamptz[]) as u(id, n, last)
         where c.id = u.id`,
        [ids, ids.map((i) => perConv.get(i)?.n ?? 0), ids.map((i) => perConv.get(i)?.last)],
      );
    }
  }

  const newStatuses = new Set<string>();
  if (statuses.length > 0) {
    const ins = await tx.query<{ channel: string; platform_message_id: string; status: string }>(
      `insert into status_events (channel, platform_message_id, status, occurred_at, detail)
       select * from unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::jsonb[])
       on conflict do nothing
       returning channel, platform_message_id, status`,
      [
        statuses.map((s) => s.channel),
        statuses.map((s) => s.platformMessageId),
        statuses.map((s) => s.status),
        statuses.map((s) => s.occurredAt),
        statuses.map((s) => JSON.stringify({ recipientId: s.recipientId, error: s.error })),
      ],
    );
    for (const r of ins.rows) newStatuses.add(`${r.channel}\u0000${r.platform_message_id}\u0000${r.status}`);
    if (ins.rows.length > 0) await applyStatuses(tx, ins.rows);
  }

  return batch.map((p) => {
    const ids: number[] = [];
    let dup = 0;
    for (const e of p.events) {
      const key = `${e.channel}\u0000${e.externalId}`;
      const id = newIds.get(key);
      if (id !== undefined) {
        ids.push(id);
        newIds.delete(key); // the same event twice in one batch: the second is a duplicate
      } else dup++;
    }
    let st = 0;
    for (const s of p.statuses) {
      const key = `${s.channel}\u0000${s.platformMessageId}\u0000${s.status}`;
      if (newStatuses.delete(key)) st++;
    }
    return { accepted: ids.length, duplicates: dup, statuses: st, duplicateStatuses: p.statuses.length - st, ids };
  });
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
    `with ev as (
       select s.* from status_events s
       join unnest($1::text[], $2::text[], $3::text[]) as k(channel, pid, status)
         on s.channel = k.channel and s.platform_message_id = k.pid and s.status = k.status
     ), agg as (
       select channel, platform_message_id,
         (array_agg(status order by ${rank('status')} desc))[1] as top,
         min(occurred_at) filter (where status in ('delivered', 'read', 'played')) as delivered_at,
         min(occurred_at) filter (where status in ('read', 'played')) as read_at,
         min(occurred_at) filter (where status = 'failed') as failed_at,
         (array_agg(detail) filter (where status = 'failed'))[1]->'error' as err
       from ev group by channel, platform_message_id
     ), upd as (
       update outbox_messages o set
         status = case when ${rank('a.top')} > ${rank('o.status')} then a.top else o.status end,
         delivered_at = coalesce(o.delivered_at, a.delivered_at),
         read_at = coalesce(o.read_at, a.read_at),
         failed_at = coalesce(o.failed_at, a.failed_at),
         error_code = coalesce(a.err->>'code', o.error_code),
         error_title = coalesce(a.err->>'title', o.error_title),
         error_detail = coalesce(a.err->>'detail', o.error_detail),
         failure_reason = case when a.failed_at is null then o.failure_reason
           else coalesce(o.failure_reason, case a.err->>'code' when '131047' then 'window_closed'
                                                            when '131026' then 'undeliverable'
                                                            else 'platform_failed' end) end
       from agg a
       where o.channel = a.channel and o.platform_message_id = a.platform_message_id
       returning o.channel, o.platform_message_id
     )
     update status_events s set applied = true from upd, ev
     where s.channel = upd.channel and s.platform_message_id = upd.platform_message_id
       and ev.channel = s.channel and ev.platform_message_id = s.platform_message_id and ev.status = s.status`,
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
