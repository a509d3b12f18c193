/**
 * Messages that arrived while a person had the conversation are stored `unanswered` (not `done`):
 * the bot stayed silent and nobody may have replied. After the bot resumes, an operator can hand
 * them all to the assistant in one action: they go back to `pending` and the next turn answers
 * them as one burst (their text is already in the history, so it is not added twice).
 */
import type { Queryable } from '../db/client.ts';

/** Outcome of handing unanswered messages to the assistant. */
export type HandOutcome = { queued: number[] } | { refused: 'not_found' | 'paused' };

/** Queues the conversation's unanswered messages for the assistant, unless it is still paused. */
export async function handUnansweredToAssistant(db: Queryable, conversationId: number): Promise<HandOutcome> {
  const { rows } = await db.query<{ found: boolean; paused: boolean | null; ids: number[] | null }>(
    `with c as (select id, paused from conversations where id = $1 for update),
     upd as (
       update inbox_messages i set status = 'pending', attempts = 0, available_at = now(), lease_owner = null,
         lease_until = null, done_at = null, answered_by = null
       from c where i.conversation_id = c.id and not c.paused and i.status = 'unanswered'
       returning i.id
     )
     select exists (select 1 from c) as found, (select paused from c) as paused,
       (select array_agg(id order by id) from upd) as ids`,
    [conversationId],
  );
  const r = rows[0];
  if (!r?.found) return { refused: 'not_found' };
  if (r.paused) return { refused: 'paused' };
  return { queued: (r.ids ?? []).map(Number) };
}
