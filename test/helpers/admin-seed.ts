/** Test data for the admin API tests: conversations with inbound and outbound messages. */
import type { Queryable } from '../../src/db/client.ts';

/** Inserts a conversation last seen `minutesAgo` minutes ago; returns its id. */
export async function seedConversation(
  db: Queryable,
  c: { channel?: string; chatId: string; name?: string; minutesAgo?: number },
): Promise<number> {
  const { rows } = await db.query<{ id: number }>(
    `insert into conversations (channel, chat_id, user_id, display_name, first_seen_at, last_seen_at, last_inbound_at)
     values ($1, $2, $2, $3, now() - make_interval(mins => $4::int + 60), now() - make_interval(mins => $4::int),
       now() - make_interval(mins => $4::int))
     returning id`,
    [c.channel ?? 'whatsapp', c.chatId, c.name ?? null, c.minutesAgo ?? 0],
  );
  return Number(rows[0].id);
}

/** Inserts an inbound message `secondsAgo` seconds old with the given status; returns its id. */
export async function seedInbound(
  db: Queryable,
  m: {
    conversationId: number;
    chatId: string;
    text: string;
    status?: string;
    secondsAgo?: number;
    channel?: string;
    lastError?: string;
    attempts?: number;
  },
): Promise<number> {
  const done = (m.status ?? 'done') === 'done';
  const { rows } = await db.query<{ id: number }>(
    `insert into inbox_messages (channel, external_id, chat_id, conversation_id, kind, event, status, attempts,
       last_error, received_at, claimed_at, llm_started_at, llm_ended_at, done_at, available_at)
     values ($1, $2, $3, $4, 'text', $5, $6, $7, $8, now() - make_interval(secs => $9::int),
       case when $10 then now() - make_interval(secs => $9::int) + interval '10 ms' end,
       case when $10 then now() - make_interval(secs => $9::int) + interval '20 ms' end,
       case when $10 then now() - make_interval(secs => $9::int) + interval '900 ms' end,
       case when $10 then now() - make_interval(secs => $9::int) + interval '950 ms' end,
       now() + interval '1 hour')
     returning id`,
    [
      m.channel ?? 'whatsapp',
      `wamid.${Math.random().toString(36).slice(2)}`,
      m.chatId,
      m.conversationId,
      JSON.stringify({ text: m.text }),
      m.status ?? 'done',
      m.attempts ?? 1,
      m.lastError ?? null,
      m.secondsAgo ?? 0,
      done,
    ],
  );
  return Number(rows[0].id);
}

/** Inserts an outbound reply created `secondsAgo` seconds ago; returns its id. */
export async function seedOutbound(
  db: Queryable,
  m: {
    conversationId: number;
    chatId: string;
    inboxId?: number;
    text: string;
    status: 'pending' | 'sent' | 'delivered' | 'read' | 'failed';
    secondsAgo?: number;
    failureReason?: string;
  },
): Promise<number> {
  const reached = (s: string) => ['sent', 'delivered', 'read'].indexOf(s);
  const level = reached(m.status);
  const { rows } = await db.query<{ id: number }>(
    `insert into outbox_messages (channel, chat_id, conversation_id, inbox_id, body, status, failure_reason, created_at,
       sent_at, delivered_at, read_at, failed_at, available_at)
     values ('whatsapp', $1, $2, $3, $4, $5, $6, now() - make_interval(secs => $7::int),
       case when $8 >= 0 then now() - make_interval(secs => $7::int) + interval '300 ms' end,
       case when $8 >= 1 then now() - make_interval(secs => $7::int) + interval '2 s' end,
       case when $8 >= 2 then now() - make_interval(secs => $7::int) + interval '5 s' end,
       case when $5 = 'failed' then now() - make_interval(secs => $7::int) + interval '1 s' end,
       now() + interval '1 hour')
     returning id`,
    [
      m.chatId,
      m.conversationId,
      m.inboxId ?? null,
      m.text,
      m.status,
      m.failureReason ?? null,
      m.secondsAgo ?? 0,
      level,
    ],
  );
  return Number(rows[0].id);
}
