/**
 * Messages a person sends from the admin API, queued in the outbox like the assistant's replies so
 * they get the same pacing, retries, window checks and delivery statuses: an operator's text (kind
 * `operator`) and a WhatsApp template to re-engage a user (kind `template`). Neither answers an
 * inbound message (inbox_id is null), so the (inbox_id, part, kind) uniqueness does not apply.
 */
import type { TemplateSend } from '../config/templates.ts';
import type { Queryable } from '../db/client.ts';

/** Where a queued operator message goes. */
export interface OperatorTarget {
  readonly channel: string;
  readonly chatId: string;
  readonly conversationId: number;
}

/** Queues the parts of an operator's reply, in order; returns their outbox ids. */
export async function enqueueOperatorMessage(
  tx: Queryable,
  target: OperatorTarget,
  parts: readonly string[],
  by: string,
): Promise<number[]> {
  const { rows } = await tx.query<{ id: number }>(
    `insert into outbox_messages (channel, chat_id, conversation_id, inbox_id, part, kind, body, options)
     select $1, $2, $3, null, p.ord - 1, 'operator', p.body, jsonb_build_object('operator', $5::text)
     from unnest($4::text[]) with ordinality as p(body, ord)
     order by p.ord
     returning id`,
    [target.channel, target.chatId, target.conversationId, parts, by],
  );
  return rows.map((r) => Number(r.id));
}

/** How a template reads in the conversation view (the platform renders the approved text itself). */
export function templateSummary(t: TemplateSend): string {
  const params = t.parameters.length > 0 ? `: ${t.parameters.join(' · ')}` : '';
  return `[template ${t.name} (${t.language})${params}]`;
}

/** Queues a template send to re-engage a user; returns its outbox id. */
export async function enqueueTemplate(
  tx: Queryable,
  target: OperatorTarget,
  template: TemplateSend,
  by: string,
): Promise<number> {
  const { rows } = await tx.query<{ id: number }>(
    `insert into outbox_messages (channel, chat_id, conversation_id, inbox_id, part, kind, body, options)
     values ($1, $2, $3, null, 0, 'template', $4, $5) returning id`,
    [
      target.channel,
      target.chatId,
      target.conversationId,
      templateSummary(template),
      JSON.stringify({ operator: by, proactive: true, template }),
    ],
  );
  return Number(rows[0].id);
}
