/**
 * The Telegram `ChannelSender`: paced sendMessage, typing, and splitting to Telegram's limit.
 * Failures are thrown as RetryableSendError / PermanentSendError (errors.ts); the dispatcher owns
 * retries, so there is no retry loop here. A 429 also pauses the chat in the pacer, so other
 * replicas and the next attempt respect `retry_after` too. The one resend done here: a part whose
 * formatting Telegram refuses (400 "can't parse entities") goes out again once as plain text,
 * counted in `wadi_telegram_plain_fallbacks_total`.
 */
import type { Logger } from 'pino';
import { metrics } from '../../observability/metrics/metrics.ts';
import { PermanentSendError, RetryableSendError } from '../errors.ts';
import type { ChannelSender, OutboundMessage, SendResult } from '../types.ts';
import type { TelegramClient } from './client.ts';
import { mapTelegramError } from './errors.ts';
import { telegramHtmlToPlain } from './html-plain.ts';
import type { Pacer } from './pacing.ts';
import { type ParseMode, splitForTelegram, TELEGRAM_TEXT_LIMIT } from './split-entities.ts';

const PARSE_MODES = new Set(['HTML', 'MarkdownV2', 'Markdown']);

function parseModeOf(options: Readonly<Record<string, unknown>> | undefined): ParseMode | undefined {
  const m = options?.parse_mode;
  return typeof m === 'string' && PARSE_MODES.has(m) ? (m as ParseMode) : undefined;
}

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
    split: (text, options) => splitForTelegram(text, parseModeOf(options) ?? deps.parseMode),
    async send(message: OutboundMessage): Promise<SendResult> {
      const opts = message.options ?? {};
      const mode = parseModeOf(opts) ?? deps.parseMode;
      const replyTo = message.replyTo !== undefined ? Number(message.replyTo) : Number.NaN;
      const sendOnce = async (text: string, parseMode: ParseMode | undefined) => {
        // Group and supergroup ids are negative; private chats are positive user ids.
        await deps.pacer.acquire(message.chatId, message.chatId.startsWith('-') ? 'group' : 'private');
        try {
          const sent = await deps.client.get().sendMessage(message.chatId, text, {
            parse_mode: parseMode,
            reply_parameters: Number.isSafeInteger(replyTo)
              ? { message_id: replyTo, allow_sending_without_reply: true }
              : undefined,
            reply_markup: opts.reply_markup as never,
          });
          return String(sent.message_id);
        } catch (err) {
          const mapped = mapTelegramError(err, 'sendMessage');
          if (mapped instanceof RetryableSendError && mapped.retryAfterMs !== undefined) {
            await deps.pacer.pause(message.chatId, mapped.retryAfterMs);
          }
          throw mapped;
        }
      };
      try {
        return { platformMessageId: await sendOnce(message.text, mode) };
      } catch (err) {
        if (!(mode && err instanceof PermanentSendError && err.reason === 'bad_markup')) throw err;
        // Telegram refused the formatting: the words still matter more than the markup. Resend
        // this part once as plain text (its visible text, links kept as "text (url)").
        const plain = mode === 'HTML' ? telegramHtmlToPlain(message.text) : message.text;
        metrics.telegramPlainFallbacks.inc();
        deps.logger.warn(
          { parseMode: mode, detail: err.title },
          'telegram refused the formatting; resending as plain text',
        );
        return { platformMessageId: await sendOnce(plain, undefined), sentAsPlain: { text: plain } };
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
