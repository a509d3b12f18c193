/** Real rows for backup tests: conversations with inbound messages and history, on any backend. */
import type { Queryable } from '../../src/db/client.ts';

/** Inserts `conversations` conversations, each with `perConversation` inbox rows and one history turn. */
export async function seedConversations(q: Queryable, conversations: number, perConversation: number): Promise<void> {
  for (let c = 0; c < conversations; c++) {
    const { rows } = await q.query<{ id: number }>(
      `insert into conversations (channel, chat_id, user_id, display_name, messages_in)
       values ($1, $2, $2, $3, $4) returning id`,
      [c % 2 ? 'telegram' : 'whatsapp', `chat-${c}`, `Usuario ${c} ñandú 🎉`, perConversation],
    );
    const id = rows[0]?.id;
    for (let m = 0; m < perConversation; m++) {
      await q.query(
        `insert into inbox_messages (channel, external_id, chat_id, conversation_id, kind, event, status)
         values ($1, $2, $3, $4, 'text', $5::jsonb, 'done')`,
        [c % 2 ? 'telegram' : 'whatsapp', `ext-${c}-${m}`, `chat-${c}`, id, JSON.stringify({ text: `hola ${m}` })],
      );
    }
    await q.query(`insert into history (conversation_id, role, content) values ($1, 'user', 'hola')`, [id]);
  }
}
