/**
 * Tool calls as the dashboard's conversation timeline shows them: newest `limit` of a conversation,
 * oldest first, with arguments and results scrubbed of every configured secret (channel tokens,
 * LLM key, values the tools file references) and cut to a readable length.
 */
import type { Queryable } from '../db/client.ts';

/** One tool call in a conversation view. */
export interface ToolCallView {
  readonly id: number;
  /** The turn's first inbound message. */
  readonly inboxId: number;
  readonly step: number;
  readonly tool: string;
  /** Arguments as JSON text, redacted. */
  readonly arguments: string;
  /** The result the model got, redacted; null while in flight. */
  readonly result: string | null;
  readonly outcome: string;
  readonly startedAt: string;
  readonly finishedAt: string | null;
}

const SHOWN_CHARS = 2000;

/** Replaces every secret (raw and as it appears inside JSON strings) with [redacted]. */
export function redactSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) {
    if (!s) continue;
    out = out.split(s).join('[redacted]');
    const escaped = JSON.stringify(s).slice(1, -1);
    if (escaped !== s) out = out.split(escaped).join('[redacted]');
  }
  return out;
}

const cut = (s: string) => (s.length > SHOWN_CHARS ? `${s.slice(0, SHOWN_CHARS)}…` : s);

/** The conversation's newest `limit` tool calls, oldest first. */
export async function conversationToolCalls(
  db: Queryable,
  conversationId: number,
  limit: number,
  secrets: readonly string[],
): Promise<ToolCallView[]> {
  const { rows } = await db.query<{
    id: number;
    inbox_id: number;
    step: number;
    tool: string;
    arguments: unknown;
    result: string | null;
    outcome: string;
    started_at: Date | string;
    finished_at: Date | string | null;
  }>(
    `select id, inbox_id, step, tool, arguments, result, outcome, started_at, finished_at
     from tool_calls where conversation_id = $1 order by id desc limit $2`,
    [conversationId, limit],
  );
  return rows.reverse().map((r) => ({
    id: Number(r.id),
    inboxId: Number(r.inbox_id),
    step: Number(r.step),
    tool: r.tool,
    arguments: cut(redactSecrets(typeof r.arguments === 'string' ? r.arguments : JSON.stringify(r.arguments), secrets)),
    result: r.result === null ? null : cut(redactSecrets(r.result, secrets)),
    outcome: r.outcome,
    startedAt: new Date(r.started_at).toISOString(),
    finishedAt: r.finished_at === null ? null : new Date(r.finished_at).toISOString(),
  }));
}
