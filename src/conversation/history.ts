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

interface Waiting {
  readonly conversationId: number;
  readonly budgetTokens: number;
  readonly resolve: (h: ChatMessage[]) => void;
  readonly reject: (err: unknown) => void;
}

/** At most this many conversations' windows per statement. */
const LOADER_BATCH = 64;

/**
 * loadHistory for many turns at once: the windows asked for in the same tick (the turns of one
 * claimed batch start together) come from one statement instead of one each, so a burst's turns
 * do not queue for the turns' share of the pool one history read at a time. Same rows, same order,
 * same budget cut as loadHistory.
 */
export class HistoryLoader {
  private readonly db: Queryable;
  private waiting: Waiting[] = [];

  constructor(db: Queryable) {
    this.db = db;
  }

  /** The window for a conversation (see loadHistory). */
  load(conversationId: number, budgetTokens: number): Promise<ChatMessage[]> {
    return new Promise((resolve, reject) => {
      if (this.waiting.length === 0) setImmediate(() => this.flush());
      this.waiting.push({ conversationId, budgetTokens, resolve, reject });
    });
  }

  private flush(): void {
    const all = this.waiting;
    this.waiting = [];
    for (let i = 0; i < all.length; i += LOADER_BATCH) void this.read(all.slice(i, i + LOADER_BATCH));
  }

  private async read(batch: readonly Waiting[]): Promise<void> {
    try {
      const ids = [...new Set(batch.map((w) => w.conversationId))];
      const { rows } = await this.db.query<{
        cid: string | number;
        role: 'user' | 'assistant';
        content: string;
        tokens: number;
      }>(
        `select q.cid, h.role, h.content, h.tokens
         from unnest($1::bigint[]) as q(cid)
         join conversations c on c.id = q.cid
         cross join lateral (
           select h.id, h.role, h.content, h.tokens from history h
           where h.conversation_id = q.cid and (c.context_reset_at is null or h.created_at > c.context_reset_at)
           order by h.id desc limit 400
         ) h
         order by q.cid, h.id desc`,
        [ids],
      );
      const byConversation = new Map<number, { role: 'user' | 'assistant'; content: string; tokens: number }[]>();
      for (const r of rows) {
        const cid = Number(r.cid);
        const list = byConversation.get(cid) ?? [];
        byConversation.set(cid, list);
        list.push(r);
      }
      for (const w of batch) {
        const out: ChatMessage[] = [];
        let used = 0;
        for (const r of byConversation.get(w.conversationId) ?? []) {
          const t = r.tokens || estimateTokens(r.content);
          if (used + t > w.budgetTokens) break;
          used += t;
          out.push({ role: r.role, content: r.content });
        }
        w.resolve(out.reverse());
      }
    } catch (err) {
      for (const w of batch) w.reject(err);
    }
  }
}
