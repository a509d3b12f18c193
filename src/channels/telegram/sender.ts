/**
 * The Telegram `ChannelSender`: paced sendMessage, typing, and splitting to Telegram's limit.
 * Failures are thrown as RetryableSendError / PermanentSendError (errors.ts); the dispatcher owns
 * retries, so there is no retry loop here. A 429 also pauses the chat in the pacer, so other
 * replicas and the next attempt respect `retry_after` too.
 */
import type { Logger } from 'pino';
import { RetryableSendError } from '../errors.ts';
import type { ChannelSender, OutboundMessage, SendResult } from '../types.ts';
import type { TelegramClient } from './client.ts';
import { mapTelegramError } from './errors.ts';
import type { Pacer } from './pacing.ts';
import { type ParseMode, splitForTelegram, TELEGRAM_TEXT_LIMIT } from './split-entities.ts';

const PARSE_MODES = new Set(['HTML', 'MarkdownV2', 'Markdown']);

/** Builds the sender. `parseMode` applies to replies that do not choose their own. */
export function telegramSender(deps: {
  client: TelegramClient;
  pacer: Pacer;
  logger: Logger;
  parseMode?: ParseMode;
}): ChannelSender {
  return {
    channel: 'telegram',
    maxTextLength: TELEGRAM_TEXT_LIMIT,
    split: (text) => splitForTelegram(text, deps.parseMode),
    async send(message: OutboundMessage): Promise<SendResult> {
      const opts = message.options ?? {};
      const mode =
        typeof opts.parse_mode === 'string' && PARSE_MODES.has(opts.parse_mode) ? opts.parse_mode : deps.parseMode;
      // Group and supergroup ids are negative; private chats are positive user ids.
      await deps.pacer.acquire(message.chatId, message.chatId.startsWith('-') ? 'group' : 'private');
      const replyTo = message.replyTo !== undefined ? Number(message.replyTo) : Number.NaN;
      try {
        const sent = await deps.client.get().sendMessage(message.chatId, message.text, {
          parse_mode: mode as ParseMode | undefined,
          reply_parameters: Number.isSafeInteger(replyTo)
            ? { message_id: replyTo, allow_sending_without_reply: true }
            : undefined,
          reply_markup: opts.reply_markup as never,
        });
        return { platformMessageId: String(sent.message_id) };
      } catch (err) {
        const mapped = mapTelegramError(err, 'sendMessage');
        if (mapped instanceof RetryableSendError && mapped.retryAfterMs !== undefined) {
          await deps.pacer.pause(message.chatId, mapped.retryAfterMs);
        }
        throw mapped;
      }
    },
    async typing(chatId: string): Promise<void> {
      try {
        await deps.client.get().sendChatAction(chatId, 'typing');
      } catch (err) {
        deps.logger.debug({ err: mapTelegramError(err, 'sendChatAction').message }, 'telegram typing failed');
      }
    },
  };
}
