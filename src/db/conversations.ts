/**
 * The one API for changing `conversations` rows after intake. The inbox creates and refreshes rows
 * from inbound events (inbox/writer.ts, in the intake statement) and leases them (inbox/claim.ts,
 * in the claim statement); every other change (the turn, the outbox dispatcher, Telegram chat
 * migrations, the admin API) goes through these functions. It lives here, below inbox/ and
 * outbox/, because both of them change conversations and neither may import the other's owner.
 */
import type { Queryable } from './client.ts';

/** `/reset`: history before now is no longer sent to the assistant (clock_timestamp keeps order within a turn). */
export async function resetContext(tx: Queryable, conversationId: number): Promise<void> {
  await tx.query('update conversations set context_reset_at = clock_timestamp() where id = $1', [conversationId]);
}

/**
 * Marks that the user was told the assistant is unavailable; true only for the first call of an
 * outage (the flag is cleared when a real answer goes out), and never for blocked or paused chats.
 */
export async function markFallbackNotified(tx: Queryable, conversationId: number): Promise<boolean> {
  const { rows } = await tx.query(
    `update conversations set fallback_notified_at = now()
     where id = $1 and fallback_notified_at is null and not blocked and not paused returning id`,
    [conversationId],
  );
  return rows.length > 0;
}

/**
 * Marks that the user was told a message of theirs went to the dead letter; true when the notice
 * should go out: not blocked or paused, and none in the last `intervalMinutes` (0: always).
 */
export async function markDeadLetterNotified(
  tx: Queryable,
  conversationId: number,
  intervalMinutes: number,
): Promise<boolean> {
  const { rows } = await tx.query(
    `update conversations set dead_letter_notified_at = now()
     where id = $1 and not blocked and not paused
       and ($2::int = 0 or dead_letter_notified_at is null
            or dead_letter_notified_at < now() - make_interval(mins => $2::int))
     returning id`,
    [conversationId, intervalMinutes],
  );
  return rows.length > 0;
}

/** Counts one more reply part sent to the conversation. */
export async function countMessageOut(db: Queryable, conversationId: number): Promise<void> {
  await db.query('update conversations set messages_out = messages_out + 1 where id = $1', [conversationId]);
}

/** The user blocked the bot: nothing more is written to them. */
export async function markBlocked(tx: Queryable, conversationId: number): Promise<void> {
  await tx.query('update conversations set blocked = true where id = $1', [conversationId]);
}

/**
 * The platform says the chat now has another id: follow it, unless the new chat already has a
 * conversation (the unique (channel, chat_id) index forbids two rows for one chat).
 */
export async function moveConversationChat(
  tx: Queryable,
  conversationId: number,
  channel: string,
  newChatId: string,
): Promise<void> {
  await tx.query(
    `update conversations set chat_id = $2 where id = $1
     and not exists (select 1 from conversations where channel = $3 and chat_id = $2)`,
    [conversationId, newChatId, channel],
  );
}

/**
 * A Telegram group became a supergroup: moves its conversation to the new chat id, idempotently.
 * If the new chat already has a conversation, the old row keeps its id and records where it went.
 * Returns whether the conversation moved.
 */
export async function followGroupMigration(db: Queryable, fromChatId: string, toChatId: string): Promise<boolean> {
  const moved = await db.query<{ id: number }>(
    `update conversations set chat_id = $2, chat_type = 'supergroup',
       meta = meta || jsonb_build_object('migratedFromChatId', $1::text)
     where channel = 'telegram' and chat_id = $1
       and not exists (select 1 from conversations where channel = 'telegram' and chat_id = $2)
     returning id`,
    [fromChatId, toChatId],
  );
  if (moved.rows.length > 0) return true;
  await db.query(
    `update conversations set meta = meta || jsonb_build_object('migratedToChatId', $2::text)
     where channel = 'telegram' and chat_id = $1`,
    [fromChatId, toChatId],
  );
  return false;
}

/** Operator changes (admin API): pause/resume, reset the context. False when the conversation does not exist. */
export async function setConversationFlags(
  db: Queryable,
  conversationId: number,
  change: { readonly paused?: boolean; readonly resetContext?: boolean },
): Promise<boolean> {
  const sets: string[] = [];
  if (change.paused !== undefined) sets.push(`paused = ${change.paused ? 'true' : 'false'}`);
  if (change.resetContext) sets.push('context_reset_at = now()');
  if (sets.length === 0) {
    const { rows } = await db.query('select 1 from conversations where id = $1', [conversationId]);
    return rows.length > 0;
  }
  const { rows } = await db.query(`update conversations set ${sets.join(', ')} where id = $1 returning id`, [
    conversationId,
  ]);
  return rows.length > 0;
}
