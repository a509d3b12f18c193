/**
 * Queues reply parts in the caller's transaction (the one that marks the inbound messages done),
 * so a reply exists exactly when its messages are answered. (inbox_id, part, kind) is unique:
 * a replayed turn cannot queue the same reply twice.
 */
import type { Queryable } from '../db/client.ts';

/** One reply to queue: its parts go out in order. */
export interface QueuedReply {
  readonly channel: string;
  readonly chatId: string;
  readonly conversationId: number;
  /** The inbound message this answers. */
  readonly inboxId: number;
  readonly kind: 'text' | 'notice' | 'dead_letter_notice';
  readonly parts: readonly string[];
  readonly options?: Record<string, unknown>;
  readonly traceContext?: string | null;
}

/** Inserts every part of every reply, in order; returns how many rows were queued. */
export async function enqueueReplies(tx: Queryable, replies: readonly QueuedReply[]): Promise<number> {
  const rows = replies.flatMap((r) => r.parts.map((body, part) => ({ r, body, part })));
  if (rows.length === 0) return 0;
  const res = await tx.query(
    `insert into outbox_messages (channel, chat_id, conversation_id, inbox_id, part, kind, body, options, trace_context)
     select u.channel, u.chat_id, u.conversation_id, u.inbox_id, u.part, u.kind, u.body, u.options, u.trace
     from unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::int[], $6::text[], $7::text[], $8::jsonb[], $9::text[])
       with ordinality as u(channel, chat_id, conversation_id, inbox_id, part, kind, body, options, trace, ord)
     order by u.ord
     on conflict (inbox_id, part, kind) do nothing
     returning id`,
    [
      rows.map((x) => x.r.channel),
      rows.map((x) => x.r.chatId),
      rows.map((x) => x.r.conversationId),
      rows.map((x) => x.r.inboxId),
      rows.map((x) => x.part),
      rows.map((x) => x.r.kind),
      rows.map((x) => x.body),
      rows.map((x) => JSON.stringify(x.r.options ?? {})),
      rows.map((x) => x.r.traceContext ?? null),
    ],
  );
  return res.rows.length;
}
