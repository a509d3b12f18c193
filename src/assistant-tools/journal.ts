/**
 * The tool-call journal (table `tool_calls`): a call is written as `started` before it is made and
 * completed with its result before the result is used. Each write is its own committed statement
 * (outside the turn's final transaction) so it survives a crash; the start is fenced by the turn's
 * lease, and `(inbox_id, step)` is unique, so a worker that lost its lease cannot call a tool that
 * another worker is about to call.
 */
import type { Queryable } from '../db/client.ts';
import type { ToolOutcome } from './types.ts';

/** One recorded call. */
export interface JournalEntry {
  readonly step: number;
  readonly round: number;
  readonly callId: string;
  readonly tool: string;
  readonly arguments: Record<string, unknown>;
  /** null while in flight (or when a crash came between the call and its record). */
  readonly result: string | null;
  readonly outcome: ToolOutcome | 'started' | 'refused';
}

/** Which turn the calls belong to and the lease it runs under. */
export interface JournalTurn {
  /** The turn's first inbox message: stable when a retried turn is claimed with more messages. */
  readonly inboxId: number;
  readonly conversationId: number;
  readonly leaseToken: string;
}

/** The turn lost its lease (or another worker already recorded this step): stop, do not call. */
export class JournalFenceError extends Error {
  readonly code = 'TOOL_JOURNAL_FENCED';
  constructor(turn: JournalTurn, step: number) {
    super(`turn ${turn.inboxId} step ${step}: lease lost or step already recorded by another worker`);
    this.name = 'JournalFenceError';
  }
}

/** The calls recorded for a turn, in step order. */
export async function loadJournal(db: Queryable, inboxId: number): Promise<JournalEntry[]> {
  const { rows } = await db.query<{
    step: number;
    round: number;
    call_id: string;
    tool: string;
    arguments: unknown;
    result: string | null;
    outcome: JournalEntry['outcome'];
  }>(
    'select step, round, call_id, tool, arguments, result, outcome from tool_calls where inbox_id = $1 order by step',
    [inboxId],
  );
  return rows.map((r) => ({
    step: Number(r.step),
    round: Number(r.round),
    callId: r.call_id,
    tool: r.tool,
    arguments: (typeof r.arguments === 'string' ? JSON.parse(r.arguments) : r.arguments) as Record<string, unknown>,
    result: r.result,
    outcome: r.outcome,
  }));
}

/** Records a call as started, under the turn's lease; throws JournalFenceError when not ours. */
export async function recordStart(
  db: Queryable,
  turn: JournalTurn,
  e: { step: number; round: number; callId: string; tool: string; arguments: Record<string, unknown> },
): Promise<void> {
  const { rows } = await db.query(
    `insert into tool_calls (inbox_id, conversation_id, step, round, call_id, tool, arguments)
     select $1, $2, $3, $4, $5, $6, $7::jsonb
     where exists (select 1 from conversations where id = $2 and lease_owner = $8 and lease_until > now())
     on conflict (inbox_id, step) do nothing
     returning id`,
    [
      turn.inboxId,
      turn.conversationId,
      e.step,
      e.round,
      e.callId,
      e.tool,
      JSON.stringify(e.arguments),
      turn.leaseToken,
    ],
  );
  if (rows.length === 0) throw new JournalFenceError(turn, e.step);
}

/** Records a call's result (or a refusal that was never called). */
export async function recordResult(
  db: Queryable,
  turn: JournalTurn,
  step: number,
  r: { outcome: JournalEntry['outcome']; content: string },
): Promise<void> {
  await db.query(
    `update tool_calls set result = $3, outcome = $4, finished_at = now() where inbox_id = $1 and step = $2`,
    [turn.inboxId, step, r.content, r.outcome],
  );
}

/** Throws JournalFenceError unless the turn still holds its lease (before re-making a call). */
export async function assertLease(db: Queryable, turn: JournalTurn, step: number): Promise<void> {
  const { rows } = await db.query(
    'select 1 from conversations where id = $1 and lease_owner = $2 and lease_until > now()',
    [turn.conversationId, turn.leaseToken],
  );
  if (rows.length === 0) throw new JournalFenceError(turn, step);
}
