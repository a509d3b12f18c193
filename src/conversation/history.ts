/**
 * The history window: the latest turns after the last /reset that fit a token budget
 * (ASSISTANT_HISTORY_TOKENS, ~4 characters per token), oldest first.
 */
import { type ChatMessage, estimateTokens } from '../assistant/assistant.ts';
import type { Queryable } from '../db/client.ts';

/** Loads the window for a conversation. */
export async function loadHistory(db: Queryable, conversationId: number, budgetTokens: number): Promise<ChatMessage[]> {
  const { rows } = await db.query<{ role: 'user' | 'assistant'; content: string; tokens: number }>(
    `select h.role, h.content, h.tokens from history h join conversations c on c.id = h.conversation_id
     where h.conversation_id = $1 and (c.context_reset_at is null or h.created_at > c.context_reset_at)
     order by h.id desc limit 400`,
    [conversationId],
  );
  const out: ChatMessage[] = [];
  let used = 0;
  for (const r of rows) {
    const t = r.tokens || estimateTokens(r.content);
    if (used + t > budgetTokens) break;
    used += t;
    out.push({ role: r.role, content: r.content });
  }
  return out.reverse();
}

/** Appends history rows in order; created_at is the statement's clock so /reset ordering holds. */
export async function appendHistory(
  tx: Queryable,
  conversationId: number,
  rows: readonly { role: 'user' | 'assistant'; content: string }[],
): Promise<void> {
  if (rows.length === 0) return;
  await tx.query(
    `insert into history (conversation_id, role, content, tokens, created_at)
     select $1, r.role, r.content, r.tokens, clock_timestamp()
     from unnest($2::text[], $3::text[], $4::int[]) with ordinality as r(role, content, tokens, ord)
     order by r.ord`,
    [conversationId, rows.map((r) => r.role), rows.map((r) => r.content), rows.map((r) => estimateTokens(r.content))],
  );
}
