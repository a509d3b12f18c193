/**
 * Claiming inbound work. A worker claims a whole conversation at once: every pending message of
 * the conversation whose oldest pending message was received first, among conversations nobody
 * holds. The conversation row carries the lease (lease_owner = a token unique to this claim,
 * lease_until); its messages carry the same lease. Because the conversation row is locked with
 * FOR UPDATE SKIP LOCKED and its lease re-checked under the lock, two workers (in any processes)
 * never run turns of the same conversation at once, and messages are answered in received order.
 * An expired lease (crashed worker) makes the conversation and its messages claimable again.
 */
import type { InboundEvent } from '../channels/types.ts';
import type { Database, Queryable } from '../db/client.ts';
import type { Clock } from '../kernel/clock.ts';
import { decisionTime } from '../kernel/decision-time.ts';
import { inboxBacklog, oldestPendingSeconds } from './backlog.ts';

/** A conversation as a turn sees it. */
export interface ConversationRow {
  readonly id: number;
  readonly channel: string;
  readonly chat_id: string;
  readonly display_name: string | null;
  readonly locale: string | null;
  readonly blocked: boolean;
  readonly paused: boolean;
  readonly context_reset_at: Date | null;
  readonly fallback_notified_at: Date | null;
  readonly last_inbound_at: Date | null;
  /** The user asked for a person and nobody resumed the bot yet (needs_human). */
  readonly handoff_requested_at: Date | null;
  /** The user opted out of proactive messages. */
  readonly opted_out_at: Date | null;
}

/** One claimed inbound message. */
export interface ClaimedMessage {
  readonly id: number;
  readonly kind: string;
  readonly event: InboundEvent;
  readonly attempts: number;
  readonly receivedAt: Date;
  readonly traceContext: string | null;
  /** Its text is in the history already (it arrived while a person had the conversation). */
  readonly inHistory: boolean;
}

/** A claimed turn: one conversation and its pending messages, oldest first. */
export interface ClaimedTurn {
  readonly token: string;
  readonly conversation: ConversationRow;
  readonly messages: readonly ClaimedMessage[];
}

/** The lease was taken over by another worker (ours expired): this turn must not commit. */
export class LeaseLostError extends Error {
  readonly code = 'LEASE_LOST';
  constructor(conversationId: number) {
    super(`lease on conversation ${conversationId} was lost`);
    this.name = 'LeaseLostError';
  }
}

/** How to claim. */
export interface ClaimOptions {
  readonly token: string;
  readonly leaseMs: number;
  /** A conversation is claimable once its newest pending message is at least this old (burst coalescing). */
  readonly debounceMs: number;
  /** Decides which leases expired and which messages are due; default: the database's clock. */
  readonly clock?: Clock;
}

// $4 is the decision time (decisionTime).
const NOW = 'coalesce($4::timestamptz, now())';
const CLAIMABLE = `(m.status = 'pending' or (m.status = 'processing' and m.lease_until < ${NOW}))`;

/** Claims the next conversation's pending messages, or returns null when nothing is ready. */
export async function claimTurn(database: Database, opts: ClaimOptions): Promise<ClaimedTurn | null> {
  // One statement (one round trip, autocommit): pick and lock the conversation, lease it, lease its
  // messages. The data-modifying CTEs share the statement's snapshot and the conversation lock.
  const { rows } = await database.query<{ conversation: ConversationRow | null; messages: RawMessage[] | null }>(
    `with cand as (
       select m.conversation_id as cid, min(m.id) as first_id
       from inbox_messages m
       where ${CLAIMABLE} and m.conversation_id is not null
       group by m.conversation_id
       having max(m.received_at) <= ${NOW} - make_interval(secs => $1::float8 / 1000)
          and (array_agg(m.available_at order by m.id))[1] <= ${NOW}
       order by first_id
       limit 32
     ), pick as (
       select c.id from conversations c join cand on cand.cid = c.id
       where c.lease_until is null or c.lease_until < ${NOW}
       order by cand.first_id
       limit 1
       for update of c skip locked
     ), lease as (
       update conversations c set lease_owner = $2, lease_until = ${NOW} + make_interval(secs => $3::float8 / 1000)
       from pick where c.id = pick.id
       returning c.id, c.channel, c.chat_id, c.display_name, c.locale, c.blocked, c.paused,
                 c.context_reset_at, c.fallback_notified_at, c.last_inbound_at, c.handoff_requested_at,
                 c.opted_out_at
     ), msgs as (
       update inbox_messages m set status = 'processing', lease_owner = $2,
         lease_until = ${NOW} + make_interval(secs => $3::float8 / 1000),
         attempts = m.attempts + 1, claimed_at = ${NOW}
       from pick
       where m.conversation_id = pick.id and ${CLAIMABLE} and m.available_at <= ${NOW}
       returning m.id, m.kind, m.event, m.attempts, m.received_at, m.trace_context, m.in_history
     )
     select (select row_to_json(lease) from lease) as conversation,
            (select json_agg(msgs order by msgs.id) from msgs) as messages`,
    [opts.debounceMs, opts.token, opts.leaseMs, decisionTime(opts.clock)],
  );
  const c = rows[0]?.conversation;
  if (!c) return null;
  const date = (v: unknown) => (v === null || v === undefined ? null : new Date(v as string));
  const conversation: ConversationRow = {
    ...c,
    id: Number(c.id),
    context_reset_at: date(c.context_reset_at),
    fallback_notified_at: date(c.fallback_notified_at),
    last_inbound_at: date(c.last_inbound_at),
    handoff_requested_at: date(c.handoff_requested_at),
    opted_out_at: date(c.opted_out_at),
  };
  const messages = (rows[0].messages ?? []).map((r) => ({
    id: Number(r.id),
    kind: r.kind,
    event: r.event,
    attempts: r.attempts,
    receivedAt: new Date(r.received_at),
    traceContext: r.trace_context,
    inHistory: r.in_history === true,
  }));
  // Within a turn, the user's own order: platform timestamps (concurrent webhook deliveries may be
  // stored in either order), then storage order for ties (WhatsApp timestamps have 1 s resolution).
  messages.sort((a, b) => {
    const ta = Date.parse(a.event.sentAt);
    const tb = Date.parse(b.event.sentAt);
    return ta !== tb && Number.isFinite(ta) && Number.isFinite(tb) ? ta - tb : a.id - b.id;
  });
  return { token: opts.token, conversation, messages };
}

interface RawMessage {
  id: number;
  kind: string;
  event: InboundEvent;
  attempts: number;
  received_at: string;
  trace_context: string | null;
  in_history: boolean | null;
}

/** Extends the lease of a running turn; false when it was lost. */
export async function renewLease(
  database: Database,
  turn: ClaimedTurn,
  leaseMs: number,
  clock?: Clock,
): Promise<boolean> {
  const { rows } = await database.query(
    `with c as (
       update conversations set lease_until = ${NOW} + make_interval(secs => $2::float8 / 1000)
       where id = $3 and lease_owner = $1 returning id
     )
     update inbox_messages set lease_until = ${NOW} + make_interval(secs => $2::float8 / 1000)
     where lease_owner = $1 and status = 'processing' and exists (select 1 from c) returning id`,
    [turn.token, leaseMs, turn.conversation.id, decisionTime(clock)],
  );
  return rows.length > 0;
}

/**
 * Extends the leases of many running turns in one round trip (a worker's heartbeat for every turn
 * it holds); returns the tokens whose lease was kept. A token missing from the answer lost its lease.
 */
export async function renewLeases(
  database: Queryable,
  turns: readonly ClaimedTurn[],
  leaseMs: number,
  clock?: Clock,
): Promise<Set<string>> {
  if (turns.length === 0) return new Set();
  const now = NOW.replace('$4', '$3');
  const { rows } = await database.query<{ lease_owner: string }>(
    `with c as (
       update conversations set lease_until = ${now} + make_interval(secs => $2::float8 / 1000)
       where id = any($4::bigint[]) and lease_owner = any($1::text[]) returning lease_owner
     ), m as (
       update inbox_messages set lease_until = ${now} + make_interval(secs => $2::float8 / 1000)
       where lease_owner in (select lease_owner from c) and status = 'processing' returning lease_owner
     )
     select distinct lease_owner from m`,
    [turns.map((t) => t.token), leaseMs, decisionTime(clock), turns.map((t) => t.conversation.id)],
  );
  return new Set(rows.map((r) => r.lease_owner));
}

/** Stage timestamps and coalescing link recorded when a turn completes. */
export interface CompleteOptions {
  /** Inbox id whose turn answered each message (the last message of its run). */
  readonly answeredBy: ReadonlyMap<number, number>;
  readonly llmStartedAt?: Date;
  readonly llmEndedAt?: Date;
  /** A real answer went out: the next outage may notify the user again. */
  readonly clearFallback?: boolean;
  /** Messages stored `unanswered` instead of done (a person had the conversation). */
  readonly unanswered?: ReadonlySet<number>;
  /** Messages whose text this turn added to the history. */
  readonly inHistory?: ReadonlySet<number>;
}

/**
 * Inside the turn's final transaction: releases the conversation lease and marks the messages
 * done. Throws LeaseLostError (rolling the transaction back) if another worker took over.
 */
export async function completeTurn(tx: Queryable, turn: ClaimedTurn, opts: CompleteOptions): Promise<void> {
  const ids = turn.messages.map((m) => m.id);
  const { rows } = await tx.query<{ n: number }>(
    `with c as (
       update conversations set lease_owner = null, lease_until = null,
         fallback_notified_at = case when $6 then null else fallback_notified_at end
       where id = $7 and lease_owner = $5 returning id
     ), m as (
       update inbox_messages m set status = case when u.id = any($8::bigint[]) then 'unanswered' else 'done' end,
         done_at = case when u.id = any($8::bigint[]) then null else now() end, lease_owner = null, lease_until = null,
         answered_by = u.answered_by, llm_started_at = $3, llm_ended_at = $4, last_error = null,
         in_history = m.in_history or u.id = any($9::bigint[])
       from unnest($1::bigint[], $2::bigint[]) as u(id, answered_by)
       where m.id = u.id and m.lease_owner = $5 and exists (select 1 from c)
       returning 1
     )
     select (select count(*)::int from c) as n`,
    [
      ids,
      ids.map((i) => opts.answeredBy.get(i) ?? null),
      opts.llmStartedAt ?? null,
      opts.llmEndedAt ?? null,
      turn.token,
      opts.clearFallback ?? false,
      turn.conversation.id,
      [...(opts.unanswered ?? [])],
      [...(opts.inHistory ?? [])],
    ],
  );
  if ((rows[0]?.n ?? 0) === 0) throw new LeaseLostError(turn.conversation.id);
}

/** How a failed turn is handed back. */
export interface ReleaseOptions {
  readonly error?: string;
  readonly retryInMs: number;
  /** False for failures that are not the message's fault (LLM down, shutdown): attempts are given back. */
  readonly countAttempt: boolean;
  /** Counted attempts after which a message goes to the dead letter. */
  readonly maxAttempts: number;
  /** Clock of the retry time; default: the database's. */
  readonly clock?: Clock;
}

/** Hands the turn's messages back (pending, or dead after too many attempts) and frees the conversation. */
export async function releaseTurn(tx: Queryable, turn: ClaimedTurn, opts: ReleaseOptions): Promise<number> {
  const ids = turn.messages.map((m) => m.id);
  const { rows } = await tx.query<{ status: string }>(
    `update inbox_messages set
       status = case when $3 and attempts >= $4 then 'dead' else 'pending' end,
       attempts = case when $3 then attempts else greatest(attempts - 1, 0) end,
       available_at = coalesce($7::timestamptz, now()) + make_interval(secs => $5::float8 / 1000),
       last_error = coalesce($6, last_error), lease_owner = null, lease_until = null
     where id = any($1::bigint[]) and lease_owner = $2
     returning status`,
    [
      ids,
      turn.token,
      opts.countAttempt,
      opts.maxAttempts,
      opts.retryInMs,
      opts.error?.slice(0, 1000) ?? null,
      decisionTime(opts.clock),
    ],
  );
  await tx.query(`update conversations set lease_owner = null, lease_until = null where id = $1 and lease_owner = $2`, [
    turn.conversation.id,
    turn.token,
  ]);
  return rows.filter((r) => r.status === 'dead').length;
}

/** How a turn settles its claim: handed to the turn handler by the worker (see worker.ts). */
export interface TurnLease {
  /**
   * Inside the turn's final transaction: marks the messages done and frees the conversation.
   * Throws LeaseLostError (rolling the transaction back) if another worker took over.
   */
  complete(tx: Queryable, opts: CompleteOptions): Promise<void>;
  /** Shutdown or lost lease: the messages are claimable again at once, the attempt not counted. */
  giveBack(tx: Queryable): Promise<void>;
  /**
   * Not the messages' fault (the LLM is down): claimable again after the first backoff step, or
   * `retryAfterMs` if longer; the attempt is not counted.
   */
  postpone(tx: Queryable, error: string, retryAfterMs?: number): Promise<void>;
  /** A counted failure: retried with backoff, dead after the last attempt. Returns how many went dead. */
  fail(tx: Queryable, error: string): Promise<number>;
}

/** The retry rules a lease applies. */
export interface LeasePolicy {
  readonly maxAttempts: number;
  /** Delay after the `attempt`-th counted failure. */
  readonly retryDelay: (attempt: number) => number;
  readonly clock?: Clock;
}

/** The lease of one claimed turn. */
export function leaseFor(turn: ClaimedTurn, policy: LeasePolicy): TurnLease {
  const base = { maxAttempts: policy.maxAttempts, clock: policy.clock };
  const attempt = Math.max(...turn.messages.map((m) => m.attempts));
  return {
    complete: (tx, opts) => completeTurn(tx, turn, opts),
    giveBack: async (tx) => {
      await releaseTurn(tx, turn, { ...base, retryInMs: 0, countAttempt: false });
    },
    postpone: async (tx, error, retryAfterMs) => {
      const retryInMs = Math.max(retryAfterMs ?? 0, policy.retryDelay(1));
      await releaseTurn(tx, turn, { ...base, error, retryInMs, countAttempt: false });
    },
    fail: (tx, error) =>
      releaseTurn(tx, turn, { ...base, error, retryInMs: policy.retryDelay(attempt), countAttempt: true }),
  };
}

/** Pending work for the gauges: how many messages wait and how old the oldest is. */
export async function pendingStats(
  database: Queryable,
  now = Date.now(),
): Promise<{ pending: number; oldestSeconds: number }> {
  const b = await inboxBacklog(database);
  return { pending: b.pending + b.processing, oldestSeconds: oldestPendingSeconds(b, now) ?? 0 };
}
