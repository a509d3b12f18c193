/**
 * Builds Telegram `Update` bodies shaped like the Bot API's, for the sandbox, the dashboard's
 * Try it, `wadi simulate --channel telegram`, load tests and the test suite: the one builder.
 */

/** What a Telegram private text message needs. */
export interface TelegramTextOptions {
  readonly updateId: number;
  readonly chatId: number;
  readonly text: string;
  readonly name?: string;
  readonly messageId?: number;
  /** The user's client language (`from.language_code`); absent when not given. */
  readonly languageCode?: string;
  /** Unix seconds of `message.date`; default now. */
  readonly date?: number;
}

/** A Telegram `Update` with one private text message, with its bot_command entity if it starts with one. */
export function telegramTextUpdate(o: TelegramTextOptions): Record<string, unknown> {
  const from: Record<string, unknown> = { id: o.chatId, is_bot: false, first_name: o.name ?? 'Sandbox user' };
  if (o.languageCode) from.language_code = o.languageCode;
  const command = /^\/[A-Za-z0-9_]+(@[A-Za-z0-9_]+)?/.exec(o.text);
  const message: Record<string, unknown> = {
    message_id: o.messageId ?? o.updateId % 1_000_000_000,
    from,
    chat: { id: o.chatId, type: 'private', first_name: from.first_name },
    date: o.date ?? Math.floor(Date.now() / 1000),
    text: o.text,
  };
  if (command) message.entities = [{ type: 'bot_command', offset: 0, length: command[0].length }];
  return { update_id: o.updateId, message };
}
