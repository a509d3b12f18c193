/**
 * Durable intake: stores inbound events and status webhooks before the webhook is acknowledged.
 *
 * Concurrent webhook requests share one transaction (group commit): while a flush is running, new
 * requests queue up and go together in the next one, so ingest costs one commit per batch rather
 * than one per request. Every caller's promise resolves only after its rows are committed.
 * Dedupe is by unique keys: (channel, external_id) for events, (channel, id, status) for statuses.
 * Status events are stored and applied to the outbox by outbox/statuses.ts, in the same transaction.
 */

import type { AcceptResult, DeliverySource, InboundEvent, StatusEvent } from '../channels/types.ts';
import type { Database, Queryable } from '../db/client.ts';
import { followGroupMigration } from '../db/conversations.ts';
import { describeDataError, isDataError } from '../db/errors.ts';
import { currentTraceparent } from '../observability/tracing/context.ts';
import { storeAndApplyStatuses } from '../outbox/statuses.ts';
import { normaliseForStorage, storableString } from './normalise.ts';

export type { AcceptResult, DeliverySource };

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
   * A Telegram group became a supergroup: its conversation follows to the new chat id (before the
   * service message, stored under the new id, is accepted). Idempotent; true when it moved.
   */
  followGroupMigration(fromChatId: string, toChatId: string): Promise<boolean> {
    return followGroupMigration(this.database, fromChatId, toChatId);
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
    // The batch travels as one jsonb parameter (one JSON.stringify, each event serialised once
    // inside it) rather than twelve text arrays, each element escaped into an array literal.
    const inserted = await tx.query<{ id: number; channel: string; external_id: string }>(
      `with ev as (
         select * from jsonb_to_recordset($1::jsonb)
           as e(channel text, external_id text, chat_id text, user_id text, display_name text, chat_type text,
                locale text, sent_at timestamptz, event jsonb, kind text, trace text, ord int)
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
        JSON.stringify(
          events.map(({ e, trace }, ord) => ({
            channel: e.channel,
            external_id: e.externalId,
            chat_id: e.chatId,
            user_id: e.userId,
            display_name: e.displayName,
            chat_type: e.chatType,
            locale: e.locale,
            sent_at: e.sentAt,
            event: e,
            kind: e.kind,
            // A trace header is not user text, but it must not turn a batch into a data error.
            trace: trace === undefined ? undefined : storableString(trace),
            ord,
          })),
        ),
      ],
    );
    for (const r of inserted.rows) newIds.set(`${r.channel}\u0000${r.external_id}`, r.id);
  }

  const newStatuses = new Set<string>();
  if (statuses.length > 0) {
    const ins = await storeAndApplyStatuses(tx, statuses);
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
