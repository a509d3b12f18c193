/**
 * Durable intake: stores inbound events and status webhooks before the webhook is acknowledged.
 *
 * Concurrent webhook requests share one transaction (group commit): while a flush is running, new
 * requests queue up and go together in the next one, so ingest costs one commit per batch rather
 * than one per request. Every caller's promise resolves only after its rows are committed.
 * Dedupe is by unique keys: (channel, external_id) for events, (channel, id, status) for statuses.
 */

import type { ChannelName, InboundEvent, StatusEvent } from '../channels/types.ts';
import type { Database, Queryable } from '../db/client.ts';
import { describeDataError, isDataError } from '../db/errors.ts';
import { currentTraceparent } from '../ops/tracing/context.ts';
import { normaliseForStorage } from './normalise.ts';

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
  /** Per input event: true when this call stored it (false: a redelivery, or unstorable). */
  readonly fresh: readonly boolean[];
  /**
   * Events and statuses the database refused even after normalisation; the delivery is kept in
   * `unstorable_deliveries` (see `deadLetterId`) and may be acknowledged: retrying cannot help.
   */
  readonly unstorable?: number;
  /** The `unstorable_deliveries` row holding this delivery, when `unstorable` > 0. */
  readonly deadLetterId?: number;
}

/** Where a delivery came from, kept when it cannot be stored. */
export interface DeliverySource {
  readonly channel: ChannelName;
  /** The delivery's bytes as received (the webhook body); kept base64 if it cannot be stored. */
  readonly raw?: Uint8Array;
}

interface Pending {
  readonly events: readonly InboundEvent[];
  readonly statuses: readonly StatusEvent[];
  readonly traceContext?: string;
  readonly source?: DeliverySource;
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

  /**
   * Stores the events and statuses of one webhook delivery; resolves after the commit. Strings
   * are normalised first (see normalise.ts). Rejects only when the database is unavailable; a
   * delivery the database refuses as data resolves with `unstorable` (kept as a dead letter).
   */
  accept(
    events: readonly InboundEvent[],
    statuses: readonly StatusEvent[] = [],
    traceContext?: string,
    source?: DeliverySource,
  ): Promise<AcceptResult> {
    if (events.length === 0 && statuses.length === 0) {
      return Promise.resolve({ accepted: 0, duplicates: 0, statuses: 0, duplicateStatuses: 0, ids: [], fresh: [] });
    }
    let clean: { events: readonly InboundEvent[]; statuses: readonly StatusEvent[] };
    try {
      clean = normaliseForStorage({ events, statuses });
    } catch (err) {
      return Promise.reject(err);
    }
    return new Promise((resolve, reject) => {
      // The webhook's trace travels with the row, so the worker's turn joins the same trace.
      this.queue.push({
        events: clean.events,
        statuses: clean.statuses,
        traceContext: traceContext ?? currentTraceparent(),
        source,
        resolve,
        reject,
      });
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
          const results = await this.write(batch);
          for (const [i, p] of batch.entries()) p.resolve(results[i]);
          this.committed(results);
        } catch (err) {
          if (!isDataError(err)) {
            for (const p of batch) p.reject(err);
            continue;
          }
          // One member's data failed the whole statement: the others are healthy. Store them one
          // by one so one poison delivery cannot take its batch down with it.
          for (const p of batch) await this.writeAlone(p);
        }
      }
    } finally {
      this.flushing--;
    }
  }

  /** Each half is one statement, so a batch of only events (or only statuses) is a single
   * autocommitted round trip; a mixed batch runs both in one transaction. */
  private write(batch: readonly Pending[]): Promise<AcceptResult[]> {
    const hasEvents = batch.some((p) => p.events.length > 0);
    const hasStatuses = batch.some((p) => p.statuses.length > 0);
    return hasEvents && hasStatuses
      ? this.database.transaction((tx) => writeBatch(tx, batch))
      : writeBatch(this.database, batch);
  }

  private committed(results: readonly AcceptResult[]): void {
    const ids = results.flatMap((r) => r.ids);
    if (ids.length > 0) this.onCommitted?.(ids);
  }

  /** One delivery on its own; if the database refuses its data, item by item, then dead-lettered. */
  private async writeAlone(p: Pending): Promise<void> {
    try {
      const [r] = await this.write([p]);
      p.resolve(r as AcceptResult);
      this.committed([r as AcceptResult]);
      return;
    } catch (err) {
      if (!isDataError(err)) return p.reject(err);
    }
    const items: Pending[] = [
      ...p.events.map((e) => ({ ...p, events: [e], statuses: [] })),
      ...p.statuses.map((s) => ({ ...p, events: [], statuses: [s] })),
    ];
    const total = {
      accepted: 0,
      duplicates: 0,
      statuses: 0,
      duplicateStatuses: 0,
      ids: [] as number[],
      fresh: [] as boolean[],
    };
    const reasons = new Set<string>();
    let refused = 0;
    for (const item of items) {
      const isEvent = item.events.length > 0;
      try {
        const [r] = await this.write([item]);
        if (!r) continue;
        if (isEvent) total.fresh.push(r.accepted > 0);
        total.accepted += r.accepted;
        total.duplicates += r.duplicates;
        total.statuses += r.statuses;
        total.duplicateStatuses += r.duplicateStatuses;
        total.ids.push(...r.ids);
      } catch (err) {
        if (!isDataError(err)) return p.reject(err);
        if (isEvent) total.fresh.push(false);
        refused++;
        reasons.add(describeDataError(err));
      }
    }
    if (refused === 0) {
      p.resolve(total);
      this.committed([total]);
      return;
    }
    try {
      const raw = p.source?.raw
        ? Buffer.from(p.source.raw)
        : Buffer.from(JSON.stringify({ events: p.events, statuses: p.statuses }));
      const { rows } = await this.database.query<{ id: number }>(
        `insert into unstorable_deliveries (channel, reason, items, bytes, raw_base64) values ($1, $2, $3, $4, $5)
         returning id`,
        [
          p.source?.channel ?? p.events[0]?.channel ?? p.statuses[0]?.channel ?? 'unknown',
          [...reasons].sort().join('; '),
          refused,
          raw.length,
          raw.toString('base64'),
        ],
      );
      const result: AcceptResult = { ...total, unstorable: refused, deadLetterId: Number(rows[0]?.id) };
      p.resolve(result);
      this.committed([result]);
    } catch (err) {
      p.reject(err);
    }
  }
}

async function writeBatch(tx: Queryable, batch: readonly Pending[]): Promise<AcceptResult[]> {
  const events = batch.flatMap((p) => p.events.map((e) => ({ e, trace: p.traceContext })));
  const statuses = batch.flatMap((p) => p.statuses);
  const newIds = new Map<string, number>();

  if (events.length > 0) {
    // One statement: upsert the conversations (in a fixed order, so concurrent batches lock rows
    // in the same order), insert the events with ON CONFLICT DO NOTHING, and count only events not
    // already stored. (Two concurrent deliveries of the same new event may both count it; the
    // event itself is stored once either way.) The user's last message opens WhatsApp's window.
    const inserted = await tx.query<{ id: number; channel: string; external_id: string }>(
      `with ev as (
         select * from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
                              $8::timestamptz[], $9::jsonb[], $10::text[], $11::text[], $12::int[])
           as e(channel, external_id, chat_id, user_id, display_name, chat_type, locale, sent_at, event, kind, trace, ord)
       ),
       fresh as (
         select distinct on (ev.channel, ev.external_id) ev.* from ev
         where not exists (select 1 from inbox_messages i where i.channel = ev.channel and i.external_id = ev.external_id)
         order by ev.channel, ev.external_id, ev.ord
       ),
       chats as (
         select distinct on (channel, chat_id) channel, chat_id, user_id, display_name, chat_type, locale, sent_at
         from ev order by channel, chat_id, sent_at desc
       ),
       counts as (
         select channel, chat_id, count(*) filter (where kind not in ('reaction', 'edited'))::int as n,
                max(sent_at) filter (where kind not in ('reaction', 'edited')) as last_in
         from fresh group by channel, chat_id
       ),
       conv as (
         insert into conversations (channel, chat_id, user_id, display_name, chat_type, locale, last_seen_at, last_inbound_at, messages_in)
         select c.channel, c.chat_id, c.user_id, c.display_name, c.chat_type, c.locale, c.sent_at, k.last_in, coalesce(k.n, 0)
         from chats c left join counts k using (channel, chat_id)
         order by c.channel, c.chat_id
         on conflict (channel, chat_id) do update set
           last_seen_at = greatest(conversations.last_seen_at, excluded.last_seen_at),
           last_inbound_at = greatest(conversations.last_inbound_at, excluded.last_inbound_at),
           messages_in = conversations.messages_in + excluded.messages_in,
           display_name = coalesce(excluded.display_name, conversations.display_name),
           user_id = coalesce(conversations.user_id, excluded.user_id),
           chat_type = excluded.chat_type,
           locale = coalesce(conversations.locale, excluded.locale)
         returning id, channel, chat_id
       )
       insert into inbox_messages (channel, external_id, chat_id, conversation_id, kind, event, status, sent_at, trace_context)
       select ev.channel, ev.external_id, ev.chat_id, conv.id, ev.kind, ev.event,
              case when (ev.event->>'answer')::boolean then 'pending' else 'ignored' end, ev.sent_at, ev.trace
       from ev join conv on conv.channel = ev.channel and conv.chat_id = ev.chat_id
       order by ev.ord
       on conflict (channel, external_id) do nothing
       returning id, channel, external_id`,
      [
        events.map(({ e }) => e.channel),
        events.map(({ e }) => e.externalId),
        events.map(({ e }) => e.chatId),
        events.map(({ e }) => e.userId),
        events.map(({ e }) => e.displayName ?? null),
        events.map(({ e }) => e.chatType),
        events.map(({ e }) => e.locale ?? null),
        events.map(({ e }) => e.sentAt),
        events.map(({ e }) => JSON.stringify(e)),
        events.map(({ e }) => e.kind),
        events.map(({ trace }) => trace ?? null),
        events.map((_, i) => i),
      ],
    );
    for (const r of inserted.rows) newIds.set(`${r.channel}\u0000${r.external_id}`, r.id);
  }

  const newStatuses = new Set<string>();
  if (statuses.length > 0) {
    const ins = await insertAndApplyStatuses(tx, statuses);
    for (const r of ins) newStatuses.add(`${r.channel}\u0000${r.platform_message_id}\u0000${r.status}`);
  }

  return batch.map((p) => {
    const ids: number[] = [];
    const fresh: boolean[] = [];
    let dup = 0;
    for (const e of p.events) {
      const key = `${e.channel}\u0000${e.externalId}`;
      const id = newIds.get(key);
      fresh.push(id !== undefined);
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
    return {
      accepted: ids.length,
      duplicates: dup,
      statuses: st,
      duplicateStatuses: p.statuses.length - st,
      ids,
      fresh,
    };
  });
}

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
           else coalesce(o.failure_reason, case a.err->>'code' when '131047' then 'window_closed'
                                                            when '131026' then 'undeliverable'
                                                            else 'platform_failed' end) end
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
 * Stores new status events and applies them to their outbound messages in one statement. A status
 * whose outbound row does not know its platform id yet is stored unapplied; the dispatcher applies
 * it when it records the id (applyPendingStatuses).
 */
async function insertAndApplyStatuses(
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
