/**
 * The parts of Telegram's Update object WADI reads (Bot API "Update", "Message", "CallbackQuery").
 * Everything is optional beyond ids because Telegram adds fields and kinds over time; unknown
 * fields are kept in the event's `extra` rather than rejected.
 */

/** A Telegram user or bot. */
export interface TgUser {
  readonly id: number;
  readonly is_bot?: boolean;
  readonly first_name?: string;
  readonly last_name?: string;
  readonly username?: string;
  readonly language_code?: string;
}

/** A chat. Group ids are negative; supergroups start with -100. */
export interface TgChat {
  readonly id: number;
  readonly type: 'private' | 'group' | 'supergroup' | 'channel';
  readonly title?: string;
  readonly username?: string;
  readonly first_name?: string;
  readonly last_name?: string;
}

/** A formatting or semantic span; offsets and lengths are UTF-16 units. */
export interface TgEntity {
  readonly type: string;
  readonly offset: number;
  readonly length: number;
  readonly user?: TgUser;
}

/** A message (also used for edited messages and channel posts). */
export interface TgMessage {
  readonly message_id: number;
  readonly from?: TgUser;
  readonly chat: TgChat;
  readonly date: number;
  readonly edit_date?: number;
  readonly text?: string;
  readonly caption?: string;
  readonly entities?: readonly TgEntity[];
  readonly caption_entities?: readonly TgEntity[];
  readonly photo?: readonly {
    file_id: string;
    file_unique_id?: string;
    width?: number;
    height?: number;
    file_size?: number;
  }[];
  readonly document?: { file_id: string; mime_type?: string; file_name?: string };
  readonly voice?: { file_id: string; mime_type?: string };
  readonly audio?: { file_id: string; mime_type?: string; file_name?: string };
  readonly video?: { file_id: string; mime_type?: string; file_name?: string };
  readonly video_note?: { file_id: string; duration?: number; file_size?: number };
  readonly sticker?: { file_id: string; emoji?: string; is_animated?: boolean; is_video?: boolean };
  readonly location?: { latitude: number; longitude: number };
  readonly venue?: { location?: { latitude: number; longitude: number }; title?: string; address?: string };
  readonly contact?: { phone_number: string; first_name?: string; last_name?: string; user_id?: number };
  readonly reply_to_message?: TgMessage;
  readonly migrate_to_chat_id?: number;
  readonly migrate_from_chat_id?: number;
}

/** A button press on an inline keyboard. */
export interface TgCallbackQuery {
  readonly id: string;
  readonly from: TgUser;
  readonly message?: TgMessage;
  readonly inline_message_id?: string;
  readonly chat_instance?: string;
  readonly data?: string;
}

/** One update: `update_id` plus exactly one payload. */
export interface TgUpdate {
  readonly update_id: number;
  readonly message?: TgMessage;
  readonly edited_message?: TgMessage;
  readonly channel_post?: TgMessage;
  readonly edited_channel_post?: TgMessage;
  readonly callback_query?: TgCallbackQuery;
  readonly [other: string]: unknown;
}

/** The bot's own identity (getMe), needed to recognise mentions and `/cmd@botname`. */
export interface BotIdentity {
  readonly id: number;
  readonly username: string;
}

/** True when `v` has the shape of an update (an object with a non-negative integer update_id). */
export function isUpdate(v: unknown): v is TgUpdate {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const id = (v as { update_id?: unknown }).update_id;
  return typeof id === 'number' && Number.isSafeInteger(id) && id >= 0;
}

/** The update kinds WADI handles (getUpdates and setWebhook ask for these only). */
export const ALLOWED_UPDATES = ['message', 'edited_message', 'callback_query'] as const;
