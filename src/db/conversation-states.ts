/**
 * The human side of a conversation's state, next to db/conversations.ts (the one API for
 * conversation changes): a user asking for a person (`needs_human`), an operator taking over and
 * handing back, the idle auto-resume, opting out of proactive messages (`opted_out`), and the
 * durable "tell on-call" flag the handoff notifier works from.
 *
 * States as the admin API shows them (see `conversationState`):
 * - `needs_human`: handoff_requested_at is set; the bot is silent (paused) until resumed;
 * - `paused`: an operator paused the bot (or replied) without a handoff request;
 * - `opted_out`: the user sent an opt-out keyword; direct answers still go out, nothing proactive;
 * - `blocked`: the user blocked the bot; nothing goes out;
 * - `active`: the bot answers.
 */
import type { Queryable } from './client.ts';

/** How a person was asked for (`trigger` label of wadi_handoffs_total). */
export type HandoffTrigger = 'command' | 'keyword' | 'tool' | 'operator';

/** A conversation's state for people (admin list, filter, dashboard). */
export type ConversationState = 'needs_human' | 'paused' | 'opted_out' | 'blocked' | 'active';

/** The state of a row with these columns. */
export function conversationState(r: {
  blocked: boolean;
  paused: boolean;
  handoffRequestedAt: unknown;
  optedOutAt: unknown;
}): ConversationState {
  if (r.blocked) return 'blocked';
  if (r.handoffRequestedAt) return 'needs_human';
  if (r.paused) return 'paused';
  if (r.optedOutAt) return 'opted_out';
  return 'active';
}

/**
 * The user asked for a person: the bot goes silent and, when `notify` (an alert destination is
 * configured), on-call is due to be told. Returns true for a new request, false when the
 * conversation was already waiting for a person (nobody is told twice).
 */
export async function requestHandoff(
  tx: Queryable,
  conversationId: number,
  trigger: HandoffTrigger,
  notify: boolean,
): Promise<boolean> {
  const { rows } = await tx.query<{ fresh: boolean }>(
    `with old as (select id, handoff_requested_at from conversations where id = $1 for update)
     update conversations c set paused = true,
       handoff_requested_at = coalesce(c.handoff_requested_at, now()),
       handoff_trigger = coalesce(c.handoff_trigger, $2),
       handoff_notify_at = case when old.handoff_requested_at is null and $3::boolean then now()
                                else c.handoff_notify_at end,
       handoff_notify_attempts = case when old.handoff_requested_at is null then 0 else c.handoff_notify_attempts end
     from old where c.id = old.id
     returning old.handoff_requested_at is null as fresh`,
    [conversationId, trigger, notify],
  );
  return rows[0]?.fresh ?? false;
}

/** An operator acted on the conversation (reply, template, pause): the bot stays silent, the idle clock restarts. */
export async function markOperatorActive(tx: Queryable, conversationId: number): Promise<boolean> {
  const { rows } = await tx.query(
    'update conversations set paused = true, operator_active_at = now() where id = $1 returning id',
    [conversationId],
  );
  return rows.length > 0;
}

/** The bot answers again: no pause, no pending handoff, nothing left to tell on-call. False when no such conversation. */
export async function resumeConversation(tx: Queryable, conversationId: number): Promise<boolean> {
  const { rows } = await tx.query(
    `update conversations set paused = false, handoff_requested_at = null, handoff_trigger = null,
       handoff_notify_at = null, handoff_notify_attempts = 0
     where id = $1 returning id`,
    [conversationId],
  );
  return rows.length > 0;
}

/**
 * Resumes every paused conversation with no operator activity for `idleMinutes` (HANDOFF_IDLE_MINUTES),
 * counting from the last operator action or the handoff request; returns the ids resumed.
 * Idempotent: several replicas may run it at once.
 */
export async function resumeIdleConversations(db: Queryable, idleMinutes: number): Promise<number[]> {
  const { rows } = await db.query<{ id: number }>(
    `update conversations set paused = false, handoff_requested_at = null, handoff_trigger = null,
       handoff_notify_at = null, handoff_notify_attempts = 0
     where paused
       and coalesce(greatest(operator_active_at, handoff_requested_at), last_seen_at)
           < now() - make_interval(mins => $1::int)
     returning id`,
    [idleMinutes],
  );
  return rows.map((r) => Number(r.id));
}

/** The user opted out of proactive messages (idempotent); true when they were opted in before. */
export async function optOut(tx: Queryable, conversationId: number): Promise<boolean> {
  const { rows } = await tx.query(
    'update conversations set opted_out_at = now() where id = $1 and opted_out_at is null returning id',
    [conversationId],
  );
  return rows.length > 0;
}

/** The user opted back in (idempotent); true when they were opted out before. */
export async function optIn(tx: Queryable, conversationId: number): Promise<boolean> {
  const { rows } = await tx.query(
    'update conversations set opted_out_at = null where id = $1 and opted_out_at is not null returning id',
    [conversationId],
  );
  return rows.length > 0;
}

/** A handoff whose on-call notification is due, claimed for one attempt. */
export interface DueHandoff {
  id: number;
  channel: string;
  chat_id: string;
  display_name: string | null;
  handoff_trigger: string | null;
  handoff_requested_at: Date | string;
  handoff_notify_attempts: number;
  /** The reason the model gave when it called the `handoff` tool (trigger `tool`), from the journal. */
  handoff_reason?: string | null;
}

/**
 * Claims up to `limit` due handoff notifications: each is pushed `leaseMs` into the future first,
 * so a crash mid-send makes it due again (at least once) and two replicas never send the same one.
 */
export async function claimDueHandoffs(db: Queryable, limit: number, leaseMs: number): Promise<DueHandoff[]> {
  const { rows } = await db.query<DueHandoff>(
    `update conversations c set handoff_notify_at = now() + make_interval(secs => $2::float8 / 1000),
       handoff_notify_attempts = c.handoff_notify_attempts + 1
     from (select id from conversations where handoff_notify_at <= now()
           order by handoff_notify_at limit $1 for update skip locked) d
     where c.id = d.id and c.handoff_requested_at is not null
     returning c.id, c.channel, c.chat_id, c.display_name, c.handoff_trigger, c.handoff_requested_at,
       c.handoff_notify_attempts,
       case when c.handoff_trigger = 'tool' then
         (select left(tc.arguments->>'reason', 300) from tool_calls tc
          where tc.conversation_id = c.id and tc.tool = 'handoff' and tc.outcome = 'ok'
          order by tc.id desc limit 1)
       end as handoff_reason`,
    [limit, leaseMs],
  );
  return rows;
}

/** On-call was told: nothing more to send for this request. */
export async function handoffNotified(db: Queryable, conversationId: number): Promise<void> {
  await db.query('update conversations set handoff_notify_at = null where id = $1', [conversationId]);
}

/** Telling on-call failed: try again in `retryMs` (unless the handoff ended meanwhile). */
export async function handoffNotifyFailed(db: Queryable, conversationId: number, retryMs: number): Promise<void> {
  await db.query(
    `update conversations set handoff_notify_at = now() + make_interval(secs => $2::float8 / 1000)
     where id = $1 and handoff_requested_at is not null`,
    [conversationId, retryMs],
  );
}
