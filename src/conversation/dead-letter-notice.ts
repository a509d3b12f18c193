/**
 * No silent dead letters: when a turn hands messages to the dead letter, the user is told once
 * that their message could not be answered, in their language, at most once per conversation in
 * DEAD_LETTER_NOTICE_MINUTES (a conversation failing in a loop gets one notice, not one per
 * message). The notice is queued in the same transaction that marks the messages dead, as kind
 * `dead_letter_notice` of the newest dead message; the dashboard lists which dead letters were told.
 */
import type { ChannelSender } from '../channels/types.ts';
import type { Queryable } from '../db/client.ts';
import { markDeadLetterNotified } from '../db/conversations.ts';
import { enqueueReplies } from '../outbox/enqueue.ts';
import { formatReply } from './reply-format.ts';
import { type Locale, resolveLocale, texts } from './texts.ts';

/** The conversation a dead letter belongs to. */
export interface DeadLetterConversation {
  readonly id: number;
  readonly channel: string;
  readonly chat_id: string;
  readonly locale: string | null;
}

/** Settings of the notice. */
export interface DeadLetterNoticeOptions {
  readonly defaultLocale: Locale;
  /** DEAD_LETTER_NOTICE_MINUTES: 0 tells the user every time. */
  readonly intervalMinutes: number;
  readonly sender?: ChannelSender;
}

/** Queues the notice for `deadInboxId` unless one went out recently; true when it was queued. */
export async function queueDeadLetterNotice(
  tx: Queryable,
  conv: DeadLetterConversation,
  deadInboxId: number,
  opts: DeadLetterNoticeOptions,
): Promise<boolean> {
  if (!(await markDeadLetterNotified(tx, conv.id, opts.intervalMinutes))) return false;
  const locale = resolveLocale(conv.locale, opts.defaultLocale);
  const { parts, options } = formatReply(conv.channel, opts.sender, texts(locale).deadLetter);
  const queued = await enqueueReplies(tx, [
    {
      channel: conv.channel,
      chatId: conv.chat_id,
      conversationId: conv.id,
      inboxId: deadInboxId,
      kind: 'dead_letter_notice',
      parts,
      options,
    },
  ]);
  return queued > 0;
}
