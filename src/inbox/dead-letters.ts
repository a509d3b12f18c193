/**
 * The dead letter: inbound messages that failed INBOX_MAX_ATTEMPTS times. Listed by
 * `wadi inbox dead` and GET /admin/dead-letters, replayed by `wadi inbox replay ID` and
 * POST /admin/messages/:id/replay: this is the one query for both.
 */
import type { Database, Queryable } from '../db/client.ts';

/** One dead message as operators see it. */
export interface DeadLetter {
  readonly id: number;
  readonly channel: string;
  readonly chatId: string;
  readonly conversationId: number | null;
  readonly kind: string;
  readonly text: string | null;
  readonly attempts: number;
  readonly lastError: string | null;
  readonly receivedAt: string;
  /** The user was told this message could not be answered (the conversation's rate-limited notice). */
  readonly userNotified: boolean;
}

/** A page of dead letters, newest first; pass `nextCursor` back as `cursor` for the next page. */
export interface DeadLetterPage {
  readonly items: readonly DeadLetter[];
  readonly nextCursor?: number;
}

/** Replaying something that is not a dead letter. */
export class NotADeadLetterError extends Error {
  readonly code: 'NOT_FOUND' | 'NOT_DEAD';
  constructor(id: number, code: 'NOT_FOUND' | 'NOT_DEAD', status?: string) {
    super(code === 'NOT_FOUND' ? `inbox message ${id} does not exist` : `inbox message ${id} is ${status}, not dead`);
    this.name = 'NotADeadLetterError';
    this.code = code;
  }
}

interface DeadRow {
  id: number;
  channel: string;
  chat_id: string;
  conversation_id: number | null;
  kind: string;
  text: string | null;
  attempts: number;
  last_error: string | null;
  received_at: Date;
  notified: boolean;
}

// The notice is a reply of kind dead_letter_notice queued for the dead message (conversation/dead-letter-notice.ts).
const SELECT = `select id, channel, chat_id, conversation_id, kind, event->>'text' as text, attempts, last_error, received_at,
    exists (select 1 from outbox_messages o where o.inbox_id = m.id and o.kind = 'dead_letter_notice') as notified
  from inbox_messages m`;

function toDeadLetter(r: DeadRow): DeadLetter {
  return {
    id: Number(r.id),
    channel: r.channel,
    chatId: r.chat_id,
    conversationId: r.conversation_id === null ? null : Number(r.conversation_id),
    kind: r.kind,
    text: r.text,
    attempts: r.attempts,
    lastError: r.last_error,
    receivedAt: new Date(r.received_at).toISOString(),
    userNotified: r.notified === true,
  };
}

/** Lists dead letters, newest first. */
export async function listDeadLetters(
  database: Queryable,
  opts: { limit?: number; cursor?: number } = {},
): Promise<DeadLetterPage> {
  const limit = Math.min(Math.max(opts.limit ?? 50, 1), 500);
  const { rows } = await database.query<DeadRow>(
    `${SELECT} where status = 'dead' and ($1::bigint is null or id < $1) order by id desc limit $2`,
    [opts.cursor ?? null, limit + 1],
  );
  const items = rows.slice(0, limit).map(toDeadLetter);
  return { items, nextCursor: rows.length > limit ? items[items.length - 1].id : undefined };
}

/** Puts a dead letter back in the queue with fresh attempts; throws NotADeadLetterError otherwise. */
export async function replayDeadLetter(database: Queryable, id: number): Promise<DeadLetter> {
  const { rows } = await database.query<{ id: number }>(
    `update inbox_messages set status = 'pending', attempts = 0, available_at = now(),
       lease_owner = null, lease_until = null
     where id = $1 and status = 'dead' returning id`,
    [id],
  );
  if (rows.length === 0) {
    const cur = await database.query<{ status: string }>('select status from inbox_messages where id = $1', [id]);
    throw new NotADeadLetterError(id, cur.rows[0] ? 'NOT_DEAD' : 'NOT_FOUND', cur.rows[0]?.status);
  }
  const { rows: after } = await database.query<DeadRow>(`${SELECT} where id = $1`, [id]);
  return toDeadLetter(after[0]);
}

/** A webhook delivery the database refused even after normalisation (see writer.ts). */
export interface UnstorableDelivery {
  readonly id: number;
  readonly channel: string;
  readonly receivedAt: string;
  /** SQLSTATEs and condition names, e.g. `22009 invalid_time_zone_displacement_value`. */
  readonly reason: string;
  readonly items: number;
  readonly bytes: number;
}

/** Unstorable deliveries, newest first. */
export async function listUnstorable(database: Database, limit = 50): Promise<UnstorableDelivery[]> {
  const { rows } = await database.query<{
    id: number;
    channel: string;
    received_at: Date;
    reason: string;
    items: number;
    bytes: number;
  }>('select id, channel, received_at, reason, items, bytes from unstorable_deliveries order by id desc limit $1', [
    limit,
  ]);
  return rows.map((r) => ({
    id: Number(r.id),
    channel: r.channel,
    receivedAt: new Date(r.received_at).toISOString(),
    reason: r.reason,
    items: r.items,
    bytes: r.bytes,
  }));
}

/** The bytes of one unstorable delivery exactly as received, or undefined. */
export async function unstorableBytes(database: Database, id: number): Promise<Buffer | undefined> {
  const { rows } = await database.query<{ raw_base64: string }>(
    'select raw_base64 from unstorable_deliveries where id = $1',
    [id],
  );
  return rows[0] ? Buffer.from(rows[0].raw_base64, 'base64') : undefined;
}
