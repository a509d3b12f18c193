/**
 * Claiming inbound work. A worker claims whole conversations: every pending message of each
 * conversation, conversations in the order their oldest pending message was received, among
 * conversations nobody holds whose burst is over (the coalescing debounce). One statement claims a
 * batch of up to N conversations (claimTurns), each under its own lease token. The conversation row
 * carries the lease (lease_owner = a token unique to this claim, lease_until); its messages carry
 * the same lease. Because the conversation rows are locked with FOR UPDATE SKIP LOCKED and their
 * lease re-checked under the lock, two workers (in any processes) never run turns of the same
 * conversation at once, and messages are answered in received order. An expired lease (crashed
 * worker) makes the conversation and its messages claimable again. A claim also says when the next
 * waiting conversation becomes claimable, so an idle worker sleeps until exactly then.
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

/** How to claim a batch: each conversation's lease token is `${tokenPrefix}-${conversation id}`. */
export interface BatchClaimOptions extends Omit<ClaimOptions, 'token'> {
  readonly tokenPrefix: string;
  /** At most this many conversations (one turn each). */
  readonly limit: number;
}

/** What one batch claim found. */
export interface ClaimBatch {
  /** The claimed turns, in the order their oldest pending message was stored. */
  readonly turns: ClaimedTurn[];
  /**
   * Milliseconds until the next free conversation with pending messages becomes claimable (its
   * burst's debounce ends, or its retry is due), by the decision clock; null when there is none.
   * Conversations leased by a running turn are not counted: their holder looks when it finishes.
   */
  readonly nextDueInMs: number | null;
}

// $4 is the decision time (decisionTime).
const NOW = 'coalesce($4::timestamptz, now())';
const CLAIMABLE = `(m.status = 'pending' or (m.status = 'processing' and m.lease_until < ${NOW}))`;
const FREE = `(c.lease_until is null or c.lease_until < ${NOW})`;

/**
 * The claim statement (one round trip, autocommit): pick and lock up to $5 free conversations whose
 * burst is over, lease them, lease their messages. The data-modifying CTEs share the statement's
 * snapshot and the conversation locks; a conversation another claim holds locked is skipped, and
 * one whose lease another claim took meanwhile fails the re-check under the lock (EvalPlanQual).
 * `due` is every conversation with claimable messages and the time its turn may start: the newest
 * message's age past the debounce, and the first message's retry time.
 */
function claimSql(token: string): string {
  return `with due as (
       select m.conversation_id as cid, min(m.id) as first_id,
              greatest(max(m.received_at) + make_interval(secs => $1::float8 / 1000),
                       (array_agg(m.available_at order by m.id))[1]) as due_at
       from inbox_messages m
       where ${CLAIMABLE} and m.conversation_id is not null
       group by m.conversation_id
     ), pick as (
       select c.id, due.first_id from conversations c join due on due.cid = c.id
       where due.due_at <= ${NOW} and ${FREE}
       order by due.first_id
       limit $5
       for update of c skip locked
     ), lease as (
       update conversations c set lease_owner = ${token},
         lease_until = ${NOW} + make_interval(secs => $3::float8 / 1000)
       from pick where c.id = pick.id
       returning c.id, c.channel, c.chat_id, c.display_name, c.locale, c.blocked, c.paused,
                 c.context_reset_at, c.fallback_notified_at, c.last_inbound_at, c.handoff_requested_at,
                 c.opted_out_at, c.lease_owner, pick.first_id
     ), msgs as (
       update inbox_messages m set status = 'processing', lease_owner = lease.lease_owner,
         lease_until = ${NOW} + make_interval(secs => $3::float8 / 1000),
         attempts = m.attempts + 1, claimed_at = ${NOW}
       from lease
       where m.conversation_id = lease.id and ${CLAIMABLE} and m.available_at <= ${NOW}
       returning m.conversation_id, m.id, m.kind, m.event, m.attempts, m.received_at, m.trace_context, m.in_history
     )
     select (select json_agg(lease order by lease.first_id) from lease) as conversations,
            (select json_agg(msgs order by msgs.id) from msgs) as messages,
            (select extract(epoch from (min(due.due_at) - ${NOW})) * 1000
               from due join conversations c on c.id = due.cid
               where due.due_at > ${NOW} and ${FREE}) as next_due_ms`;
}

const SINGLE_SQL = claimSql('$2');
const BATCH_SQL = claimSql(`$2::text || '-' || c.id::text`);

/** Claims the next conversation's pending messages under `opts.token`, or returns null when nothing is ready. */
export async function claimTurn(database: Database, opts: ClaimOptions): Promise<ClaimedTurn | null> {
  const { turns } = await runClaim(database, SINGLE_SQL, opts.token, 1, opts);
  return turns[0] ?? null;
}

/**
 * Claims up to `opts.limit` conversations' pending messages in one statement, each under its own
 * lease token, and says when the next one waiting becomes claimable.
 */
export async function claimTurns(database: Database, opts: BatchClaimOptions): Promise<ClaimBatch> {
  return runClaim(database, BATCH_SQL, opts.tokenPrefix, Math.max(1, Math.floor(opts.limit)), opts);
}

async function runClaim(
  database: Database,
  sql: string,
  token: string,
  limit: number,
  opts: Omit<ClaimOptions, 'token'>,
): Promise<ClaimBatch> {
  const { rows } = await database.query<{
    conversations: (ConversationRow & { lease_owner: string })[] | null;
    messages: (RawMessage & { conversation_id: number })[] | null;
    next_due_ms: number | string | null;
  }>(sql, [opts.debounceMs, token, opts.leaseMs, decisionTime(opts.clock), limit]);
  const r = rows[0];
  const nextDueInMs = r?.next_due_ms === null || r?.next_due_ms === undefined ? null : Number(r.next_due_ms);
  const byConversation = new Map<number, ClaimedMessage[]>();
  for (const m of r?.messages ?? []) {
    const cid = Number(m.conversation_id);
    const list = byConversation.get(cid) ?? [];
    byConversation.set(cid, list);
    list.push({
      id: Number(m.id),
      kind: m.kind,
      event: m.event,
      attempts: m.attempts,
      receivedAt: new Date(m.received_at),
      traceContext: m.trace_context,
      inHistory: m.in_history === true,
    });
  }
  const date = (v: unknown) => (v === null || v === undefined ? null : new Date(v as string));
  const turns = (r?.conversations ?? []).map((c): ClaimedTurn => {
    const id = Number(c.id);
    const conversation: ConversationRow = {
      id,
      channel: c.channel,
      chat_id: c.chat_id,
      display_name: c.display_name,
      locale: c.locale,
      blocked: c.blocked,
      paused: c.paused,
      context_reset_at: date(c.context_reset_at),
      fallback_notified_at: date(c.fallback_notified_at),
      last_inbound_at: date(c.last_inbound_at),
      handoff_requested_at: date(c.handoff_requested_at),
      opted_out_at: date(c.opted_out_at),
    };
    const messages = byConversation.get(id) ?? [];
    // Within a turn, the user's own order: platform timestamps (concurrent webhook deliveries may be
    // stored in either order), then storage order for ties (WhatsApp timestamps have 1 s resolution).
    messages.sort((a, b) => {
      const ta = Date.parse(a.event.sentAt);
      const tb = Date.parse(b.event.sentAt);
      return ta !== tb && Number.isFinite(ta) && Number.isFinite(tb) ? ta - tb : a.id - b.id;
    });
    return { token: c.lease_owner, conversation, messages };
  });
  return { turns, nextDueInMs };
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
