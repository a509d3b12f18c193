/**
 * The admin panel's reads and writes over conversations, inbox and outbox. Raw SQL that runs the
 * same on PGlite and PostgreSQL; timestamps leave as ISO strings, counts as numbers.
 */
import type { Queryable } from '../db/client.ts';
import { conversationState } from '../db/conversation-states.ts';
import { setConversationFlags } from '../db/conversations.ts';
import { inboxBacklog, oldestPendingSeconds } from '../inbox/backlog.ts';
import {
  listDeadLetters as listInboxDeadLetters,
  NotADeadLetterError,
  replayDeadLetter as replayInboxDeadLetter,
} from '../inbox/dead-letters.ts';
import type { DeadLetterPage, Message, OutcomeCounts, Queues, Session, SessionPage, Stage } from './contract.ts';

/** A conversation counts as active when its last message is this recent. */
export const ACTIVE_WINDOW_MINUTES = 30;

/** Converts a database timestamp (Date or text, by driver) to ISO 8601. */
export function iso(v: unknown): string;
export function iso(v: unknown, nullable: true): string | null;
export function iso(v: unknown, _nullable?: true): string | null {
  if (v === null || v === undefined) return null;
  return (v instanceof Date ? v : new Date(String(v))).toISOString();
}

const SESSION_COLUMNS = `c.id, c.channel, c.chat_id, c.user_id, c.display_name, c.chat_type, c.first_seen_at,
  c.last_seen_at, c.last_seen_at::text as last_seen_raw, c.last_inbound_at, c.blocked, c.paused, c.context_reset_at,
  (select count(*)::int from inbox_messages i where i.conversation_id = c.id) as messages_in,
  (select count(*)::int from outbox_messages o where o.conversation_id = c.id) as messages_out,
  c.last_seen_at > now() - interval '${ACTIVE_WINDOW_MINUTES} minutes' as active,
  c.handoff_requested_at, c.operator_active_at, c.opted_out_at,
  (select count(*)::int from inbox_messages i where i.conversation_id = c.id and i.status = 'unanswered') as unanswered,
  (select count(*)::int from outbox_messages o where o.conversation_id = c.id and o.status = 'failed') as failed`;

type Row = Record<string, unknown>;

function toSession(r: Row): Session {
  return {
    id: Number(r.id),
    channel: String(r.channel) as Session['channel'],
    chatId: String(r.chat_id),
    userId: (r.user_id as string | null) ?? null,
    displayName: (r.display_name as string | null) ?? null,
    chatType: String(r.chat_type),
    firstSeenAt: iso(r.first_seen_at),
    lastSeenAt: iso(r.last_seen_at),
    lastInboundAt: iso(r.last_inbound_at, true),
    messagesIn: Number(r.messages_in),
    messagesOut: Number(r.messages_out),
    blocked: Boolean(r.blocked),
    paused: Boolean(r.paused),
    contextResetAt: iso(r.context_reset_at, true),
    active: Boolean(r.active),
    state: conversationState({
      blocked: Boolean(r.blocked),
      paused: Boolean(r.paused),
      handoffRequestedAt: r.handoff_requested_at,
      optedOutAt: r.opted_out_at,
    }),
    handoffRequestedAt: iso(r.handoff_requested_at, true),
    operatorActiveAt: iso(r.operator_active_at, true),
    optedOutAt: iso(r.opted_out_at, true),
    unanswered: Number(r.unanswered ?? 0),
    failed: Number(r.failed ?? 0),
  };
}

/** Keyset position in the sessions list: (last_seen_at as PostgreSQL text, keeping microseconds; id). */
export interface SessionCursor {
  readonly lastSeen: string;
  readonly id: number;
}

// PostgreSQL's text form of a timestamptz, e.g. `2026-11-28 19:55:01.123456+00`.
const PG_TIMESTAMP =
  /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(\.\d{1,6})?(?:([+-])(\d{2})(?::?(\d{2}))?|Z)?$/;

/** True when `s` is a real instant PostgreSQL accepts (`9999-99-99` or 30 February are not). */
function validTimestamp(s: string): boolean {
  const m = PG_TIMESTAMP.exec(s);
  if (!m) return false;
  const [y, mo, d, h, mi, sec, , , offH, offM] = m.slice(1).map((x) => (x === undefined ? 0 : Number(x)));
  const daysInMonth = new Date(Date.UTC(y as number, mo as number, 0)).getUTCDate();
  return (
    (y as number) >= 1 &&
    (mo as number) >= 1 &&
    (mo as number) <= 12 &&
    (d as number) >= 1 &&
    (d as number) <= daysInMonth &&
    (h as number) < 24 &&
    (mi as number) < 60 &&
    (sec as number) < 60 &&
    (offH as number) <= 15 &&
    (offM as number) < 60
  );
}

/** Opaque cursor text for a position. */
export function encodeCursor(c: SessionCursor): string {
  return Buffer.from(JSON.stringify([c.lastSeen, c.id])).toString('base64url');
}

/** The position in a cursor, or undefined when it is not one of ours. */
export function decodeCursor(s: string): SessionCursor | undefined {
  try {
    const v = JSON.parse(Buffer.from(s, 'base64url').toString('utf8')) as unknown;
    if (!Array.isArray(v) || v.length !== 2) return undefined;
    const [lastSeen, id] = v as [unknown, unknown];
    if (typeof lastSeen !== 'string' || !validTimestamp(lastSeen)) return undefined;
    if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0) return undefined;
    return { lastSeen, id };
  } catch {
    return undefined;
  }
}

/** Filters of the sessions list. */
export interface SessionFilter {
  readonly active?: boolean;
  readonly channel?: string;
  readonly q?: string;
  readonly cursor?: SessionCursor;
  readonly limit: number;
  /** needs_human, unanswered, failed, paused, opted_out (see contract sessionsQuery). */
  readonly status?: string;
}

// The list's status filters (the partial indexes of migration 0005 keep the subqueries cheap).
const STATUS_FILTERS: Record<string, string> = {
  needs_human: 'c.handoff_requested_at is not null',
  paused: 'c.paused and c.handoff_requested_at is null',
  opted_out: 'c.opted_out_at is not null',
  unanswered: `exists (select 1 from inbox_messages i where i.conversation_id = c.id and i.status = 'unanswered')`,
  failed: `exists (select 1 from outbox_messages o where o.conversation_id = c.id and o.status = 'failed')`,
};

/** Conversations, most recently active first, one page at a time. */
export async function listSessions(db: Queryable, f: SessionFilter): Promise<SessionPage> {
  const where: string[] = [];
  const params: unknown[] = [];
  const p = (v: unknown) => {
    params.push(v);
    return `$${params.length}`;
  };
  if (f.active === true) where.push(`c.last_seen_at > now() - interval '${ACTIVE_WINDOW_MINUTES} minutes'`);
  if (f.active === false) where.push(`c.last_seen_at <= now() - interval '${ACTIVE_WINDOW_MINUTES} minutes'`);
  if (f.channel) where.push(`c.channel = ${p(f.channel)}`);
  if (f.q) {
    // Escape LIKE wildcards so a search for "50%" means the text "50%".
    const like = `%${f.q.replace(/[\\%_]/g, (m) => `\\${m}`)}%`;
    const ph = p(like);
    where.push(`(c.display_name ilike ${ph} or c.chat_id ilike ${ph} or c.user_id ilike ${ph})`);
  }
  if (f.status && STATUS_FILTERS[f.status]) where.push(STATUS_FILTERS[f.status]);
  if (f.cursor) where.push(`(c.last_seen_at, c.id) < (${p(f.cursor.lastSeen)}::timestamptz, ${p(f.cursor.id)})`);
  const sql = `select ${SESSION_COLUMNS} from conversations c
    ${where.length ? `where ${where.join(' and ')}` : ''}
    order by c.last_seen_at desc, c.id desc limit ${p(f.limit + 1)}`;
  const { rows } = await db.query<Row>(sql, params);
  const page = rows.slice(0, f.limit);
  const last = page[page.length - 1];
  const nextCursor =
    rows.length > f.limit && last ? encodeCursor({ lastSeen: String(last.last_seen_raw), id: Number(last.id) }) : null;
  return { items: page.map(toSession), nextCursor };
}

/** One conversation, or undefined. */
export async function getSession(db: Queryable, id: number): Promise<Session | undefined> {
  const { rows } = await db.query<Row>(`select ${SESSION_COLUMNS} from conversations c where c.id = $1`, [id]);
  return rows[0] ? toSession(rows[0]) : undefined;
}

/** Sets flags on a conversation; undefined when it does not exist. */
export async function updateSession(
  db: Queryable,
  id: number,
  change: { paused?: boolean; resetContext?: boolean },
): Promise<Session | undefined> {
  return (await setConversationFlags(db, id, change)) ? getSession(db, id) : undefined;
}

/** Who wrote an outbound message, by its outbox kind. */
function authorOf(kind: string): Message['author'] {
  if (kind === 'operator' || kind === 'template') return 'operator';
  if (kind === 'notice') return 'wadi';
  return 'assistant';
}

function stages(r: Row, cols: [string, string][]): Stage[] {
  const out: Stage[] = [];
  for (const [stage, col] of cols) if (r[col] != null) out.push({ stage, at: iso(r[col]) });
  return out;
}

/** The stored understanding of a media message (inbox_messages.media), as the dashboard shows it. */
function mediaOf(v: unknown): Message['media'] {
  if (typeof v !== 'object' || v === null) return null;
  const m = v as Record<string, unknown>;
  const str = (x: unknown) => (typeof x === 'string' ? x : null);
  return {
    kind: String(m.kind ?? 'unknown'),
    outcome: String(m.outcome ?? 'unknown'),
    bytes: typeof m.bytes === 'number' ? m.bytes : null,
    mimeType: str(m.mimeType),
    fileName: str(m.fileName),
    text: str(m.text),
    truncated: m.truncated === true,
  };
}

/**
 * What an outbound part looked like to the user: its body in the channel's markup, or the plain
 * text the sender resent when the platform refused the markup (`options.sent_as_plain`).
 */
function asSent(channel: string, body: string, options: Record<string, unknown>): Pick<Message, 'text' | 'format'> {
  if (typeof options.sent_as_plain === 'string') return { text: options.sent_as_plain, format: 'plain' };
  if (options.parse_mode === 'HTML') return { text: body, format: 'telegram_html' };
  return { text: body, format: channel === 'whatsapp' ? 'whatsapp' : 'plain' };
}

/** The newest `limit` messages of a conversation, both directions, oldest first, with their timelines. */
export async function conversationMessages(db: Queryable, conversationId: number, limit: number): Promise<Message[]> {
  const inbound = await db.query<Row>(
    `select id, kind, event->>'text' as text, status, attempts, last_error, received_at, claimed_at, llm_started_at,
       llm_ended_at, done_at, answered_by, media
     from inbox_messages where conversation_id = $1 order by id desc limit $2`,
    [conversationId, limit],
  );
  const outbound = await db.query<Row>(
    `select id, channel, kind, body, options, status, attempts, inbox_id, part, failure_reason, error_code, error_title,
       created_at, sent_at, delivered_at, read_at, failed_at, options->'template'->>'name' as template_name,
       options->'template'->>'language' as template_language
     from outbox_messages where conversation_id = $1 order by id desc limit $2`,
    [conversationId, limit],
  );
  const items: Message[] = [
    ...inbound.rows.map(
      (r): Message => ({
        direction: 'in',
        id: Number(r.id),
        at: iso(r.received_at),
        kind: String(r.kind),
        text: (r.text as string | null) ?? null,
        format: 'plain',
        status: String(r.status),
        attempts: Number(r.attempts),
        timeline: stages(r, [
          ['received', 'received_at'],
          ['claimed', 'claimed_at'],
          ['llm_start', 'llm_started_at'],
          ['llm_end', 'llm_ended_at'],
          ['done', 'done_at'],
        ]),
        failureReason: r.status === 'dead' || r.last_error ? ((r.last_error as string | null) ?? null) : null,
        relatedId: r.answered_by == null ? null : Number(r.answered_by),
        part: null,
        author: 'user',
        template: null,
        media: mediaOf(r.media),
      }),
    ),
    ...outbound.rows.map(
      (r): Message => ({
        direction: 'out',
        id: Number(r.id),
        at: iso(r.created_at),
        kind: String(r.kind),
        ...asSent(String(r.channel), String(r.body), (r.options ?? {}) as Record<string, unknown>),
        status: String(r.status),
        attempts: Number(r.attempts),
        timeline: stages(r, [
          ['created', 'created_at'],
          ['sent', 'sent_at'],
          ['delivered', 'delivered_at'],
          ['read', 'read_at'],
          ['failed', 'failed_at'],
        ]),
        failureReason:
          (r.failure_reason as string | null) ??
          (r.error_code ? `${String(r.error_code)} ${String(r.error_title ?? '')}`.trim() : null),
        relatedId: r.inbox_id == null ? null : Number(r.inbox_id),
        part: Number(r.part),
        author: authorOf(String(r.kind)),
        template: r.template_name
          ? { name: String(r.template_name), language: String(r.template_language ?? '') }
          : null,
        media: null,
      }),
    ),
  ];
  // Time order; an inbound message sorts before the replies created in the same instant.
  items.sort(
    (a, b) => a.at.localeCompare(b.at) || (a.direction === b.direction ? a.id - b.id : a.direction === 'in' ? -1 : 1),
  );
  return items.slice(-limit);
}

/** Dead inbox messages, newest first, keyset-paginated on id (the query of inbox/dead-letters.ts). */
export async function listDeadLetters(
  db: Queryable,
  beforeId: number | undefined,
  limit: number,
): Promise<DeadLetterPage> {
  const page = await listInboxDeadLetters(db, { cursor: beforeId, limit });
  return { items: [...page.items], nextCursor: page.nextCursor === undefined ? null : String(page.nextCursor) };
}

/** Outcome of a replay request. */
export type ReplayOutcome = 'replayed' | 'not_dead' | 'not_found';

/** Puts a dead inbox message back in the queue: pending, no attempts, available now. */
export async function replayDeadLetter(db: Queryable, id: number): Promise<ReplayOutcome> {
  try {
    await replayInboxDeadLetter(db, id);
    return 'replayed';
  } catch (err) {
    if (err instanceof NotADeadLetterError) return err.code === 'NOT_FOUND' ? 'not_found' : 'not_dead';
    throw err;
  }
}

/** Current backlog and recent outbound outcomes. */
export async function queueStats(db: Queryable): Promise<Queues> {
  const backlog = await inboxBacklog(db);
  const out = await db.query<Row>(
    `select status, count(*) filter (where created_at > now() - interval '1 hour')::int as h1, count(*)::int as h24
     from outbox_messages where created_at > now() - interval '24 hours' group by status`,
  );
  const base = (): OutcomeCounts => ({ pending: 0, sending: 0, sent: 0, delivered: 0, read: 0, failed: 0 });
  const lastHour = base();
  const last24h = base();
  for (const r of out.rows) {
    lastHour[String(r.status)] = Number(r.h1);
    last24h[String(r.status)] = Number(r.h24);
  }
  const oldest = oldestPendingSeconds(backlog, Date.now());
  return {
    inbox: {
      pending: backlog.pending,
      processing: backlog.processing,
      dead: backlog.dead,
      oldestPendingSeconds: oldest === null ? null : Math.round(oldest),
    },
    outbound: { lastHour, last24h },
  };
}
