/**
 * Turns one Telegram update into what WADI does with it: an inbox event (answered or only
 * recorded), a chat migration (group → supergroup) or nothing (channel posts, commands for another
 * bot, update kinds WADI does not subscribe to).
 */
import type { InboundEvent, InboundKind } from '../types.ts';
import type { BotIdentity, TgEntity, TgMessage, TgUpdate } from './update-types.ts';

/** When to answer in groups: only when addressed (mention/reply/command), always, or never. */
export type GroupReply = 'mention' | 'always' | 'never';

/** What the parser needs besides the update. */
export interface ParseOptions {
  /** Undefined while getMe has not answered: group messages are then recorded, not answered. */
  readonly bot?: BotIdentity;
  readonly groupReply: GroupReply;
}

/** A group moved to a new chat id; its conversation follows. */
export interface ChatMigration {
  readonly fromChatId: string;
  readonly toChatId: string;
}

/** The parser's verdict on one update. */
export interface ParsedUpdate {
  readonly updateId: number;
  /** The event to store, if any. */
  readonly event?: InboundEvent;
  /** Set for callback queries: answer it with answerCallbackQuery after the commit. */
  readonly callbackQueryId?: string;
  readonly migration?: ChatMigration;
  /** Why nothing is stored (outcome 'ignored'). */
  readonly ignored?: string;
}

/** Parses one update. Never throws on unexpected shapes: they become 'unsupported' or ignored. */
export function parseUpdate(update: TgUpdate, opts: ParseOptions): ParsedUpdate {
  const updateId = update.update_id;
  const externalId = `update:${updateId}`;
  if (update.channel_post || update.edited_channel_post) return { updateId, ignored: 'channel_post' };

  if (update.callback_query) {
    const q = update.callback_query;
    const chat = q.message?.chat;
    const event: InboundEvent = {
      channel: 'telegram',
      externalId,
      chatId: String(chat?.id ?? q.from.id),
      userId: String(q.from.id),
      displayName: personName(q.from),
      chatType: chat?.type ?? 'private',
      kind: 'callback',
      text: q.data ?? '',
      replyTo: q.message ? String(q.message.message_id) : undefined,
      sentAt: new Date((q.message?.date ?? Math.floor(Date.now() / 1000)) * 1000).toISOString(),
      answer: opts.groupReply !== 'never' || (chat?.type ?? 'private') === 'private',
      locale: q.from.language_code,
      extra: { callbackQueryId: q.id, chatInstance: q.chat_instance, inlineMessageId: q.inline_message_id },
    };
    return { updateId, event, callbackQueryId: q.id };
  }

  if (update.edited_message) {
    const base = messageEvent(update.edited_message, externalId);
    if (!base) return { updateId, ignored: 'unsupported_chat' };
    return { updateId, event: { ...base.event, kind: 'edited', answer: false } };
  }

  const msg = update.message;
  if (!msg) return { updateId, ignored: 'unsupported_update' };
  const parsed = messageEvent(msg, externalId);
  if (!parsed) return { updateId, ignored: 'unsupported_chat' };
  const migration =
    msg.migrate_to_chat_id !== undefined
      ? { fromChatId: String(msg.chat.id), toChatId: String(msg.migrate_to_chat_id) }
      : msg.migrate_from_chat_id !== undefined
        ? { fromChatId: String(msg.migrate_from_chat_id), toChatId: String(msg.chat.id) }
        : undefined;
  if (migration) {
    // Recorded under the new id, so the row does not recreate the old group's conversation.
    return {
      updateId,
      migration,
      event: {
        ...parsed.event,
        chatId: migration.toChatId,
        chatType: 'supergroup',
        kind: 'unsupported',
        answer: false,
      },
    };
  }

  const { event, command } = parsed;
  if (command?.bot && opts.bot && command.bot.toLowerCase() !== opts.bot.username.toLowerCase()) {
    return { updateId, ignored: 'command_for_another_bot' };
  }
  if (event.chatType === 'private') return { updateId, event };
  const answer =
    opts.groupReply === 'always' ||
    (opts.groupReply === 'mention' && (command !== undefined || addressesBot(msg, opts.bot)));
  return { updateId, event: { ...event, answer } };
}

interface MessageParse {
  readonly event: InboundEvent;
  readonly command?: { name: string; args: string; bot?: string };
}

function messageEvent(msg: TgMessage, externalId: string): MessageParse | undefined {
  const chat = msg.chat;
  if (!chat || typeof chat.id !== 'number' || chat.type === 'channel') return undefined;
  const from = msg.from;
  const text = msg.text ?? msg.caption;
  const command = msg.text ? parseCommand(msg.text, msg.entities) : undefined;
  let kind: InboundKind = 'unsupported';
  let media: InboundEvent['media'];
  let extra: Record<string, unknown> | undefined = chat.type === 'private' ? undefined : { chatTitle: chat.title };
  const addExtra = (more: Record<string, unknown>) => {
    extra = { ...extra, ...more };
  };
  if (command) kind = 'command';
  else if (msg.text !== undefined) kind = 'text';
  else if (msg.photo && msg.photo.length > 0) {
    // Sizes come in ascending order: the last is the largest (the media step picks the largest under its cap).
    kind = 'image';
    media = { id: msg.photo[msg.photo.length - 1].file_id, mimeType: 'image/jpeg', caption: msg.caption };
    addExtra({
      photoSizes: msg.photo
        .filter((p) => typeof p?.file_id === 'string')
        .map((p) => ({ id: p.file_id, size: typeof p.file_size === 'number' ? p.file_size : undefined })),
    });
  } else if (msg.video_note) {
    // A round video message: its sound is transcribed like a voice note.
    kind = 'audio';
    media = { id: msg.video_note.file_id, mimeType: 'video/mp4' };
    addExtra({ videoNote: true });
  } else if (msg.document) {
    kind = 'document';
    const d = msg.document;
    media = { id: d.file_id, mimeType: d.mime_type, fileName: d.file_name, caption: msg.caption };
  } else if (msg.voice || msg.audio) {
    kind = 'audio';
    const a = (msg.voice ?? msg.audio) as { file_id: string; mime_type?: string };
    media = { id: a.file_id, mimeType: a.mime_type, caption: msg.caption };
  } else if (msg.video) {
    kind = 'video';
    media = { id: msg.video.file_id, mimeType: msg.video.mime_type, caption: msg.caption };
  } else if (msg.sticker) {
    kind = 'sticker';
    // Animated (TGS) and video (WEBM) stickers are not images a model can look at.
    const moving = msg.sticker.is_animated || msg.sticker.is_video;
    media = { id: msg.sticker.file_id, mimeType: moving ? 'application/x-tgsticker' : 'image/webp' };
    if (moving) addExtra({ animated: true });
  } else if (msg.location) kind = 'location';
  else if (msg.contact) {
    kind = 'contacts';
    addExtra({ contacts: [msg.contact] });
  }
  const place = msg.venue?.location ?? msg.location;
  const event: InboundEvent = {
    channel: 'telegram',
    externalId,
    chatId: String(chat.id),
    userId: String(from?.id ?? chat.id),
    displayName: from ? personName(from) : chat.title,
    chatType: chat.type,
    kind,
    text: kind === 'sticker' ? msg.sticker?.emoji : text,
    command: command ? { name: command.name, args: command.args } : undefined,
    media,
    location: place
      ? { latitude: place.latitude, longitude: place.longitude, name: msg.venue?.title, address: msg.venue?.address }
      : undefined,
    replyTo: msg.reply_to_message ? String(msg.reply_to_message.message_id) : undefined,
    platformMessageId: String(msg.message_id),
    sentAt: new Date((msg.edit_date ?? msg.date) * 1000).toISOString(),
    answer: true,
    locale: from?.language_code,
    extra,
  };
  return { event, command };
}

/** `/start payload` or `/cmd@botname args`, from a bot_command entity at offset 0. */
export function parseCommand(
  text: string,
  entities: readonly TgEntity[] | undefined,
): { name: string; args: string; bot?: string } | undefined {
  const e = entities?.find((x) => x.type === 'bot_command' && x.offset === 0);
  // Without entities (hand-made updates), accept a leading /word as Telegram would have marked it.
  const length = e ? e.length : (/^\/[A-Za-z0-9_]{1,64}(@[A-Za-z0-9_]{3,64})?/.exec(text)?.[0].length ?? 0);
  if (length < 2) return undefined;
  const token = text.slice(1, length);
  const at = token.indexOf('@');
  const name = (at >= 0 ? token.slice(0, at) : token).toLowerCase();
  const bot = at >= 0 ? token.slice(at + 1) : undefined;
  return { name, args: text.slice(length).trim(), bot };
}

/** True when a group message mentions the bot or replies to one of its messages. */
function addressesBot(msg: TgMessage, bot: BotIdentity | undefined): boolean {
  if (!bot) return false;
  if (msg.reply_to_message?.from?.id === bot.id) return true;
  const text = msg.text ?? msg.caption ?? '';
  const entities = msg.entities ?? msg.caption_entities ?? [];
  const handle = `@${bot.username}`.toLowerCase();
  for (const e of entities) {
    if (e.type === 'text_mention' && e.user?.id === bot.id) return true;
    // Offsets are UTF-16 units, which is what String#slice counts.
    if (e.type === 'mention' && text.slice(e.offset, e.offset + e.length).toLowerCase() === handle) return true;
  }
  // Hand-made updates may lack entities; a literal @handle still counts.
  return entities.length === 0 && new RegExp(`(^|\\s)${escapeRe(handle)}\\b`, 'i').test(text);
}

function personName(u: { first_name?: string; last_name?: string; username?: string }): string | undefined {
  const name = [u.first_name, u.last_name].filter(Boolean).join(' ');
  return name || u.username;
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
