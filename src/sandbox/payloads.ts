/**
 * Platform-shaped inbound payloads for `wadi simulate`, load tests and the test suite: the
 * channels' own builders (channels/whatsapp/payload.ts, channels/telegram/payload.ts), with the
 * serialisation and signature Meta uses.
 */

/** JSON the way Meta serialises webhook bodies (see channels/whatsapp/meta-json.ts). */
export { metaStringify as metaJson } from '../channels/whatsapp/meta-json.ts';
/** The channels' own builders (one per channel, in channels/<name>/payload.ts). */
export { type WhatsappTextOptions, whatsappTextWebhook } from '../channels/whatsapp/payload.ts';
/** `sha256=<hex>` HMAC of the raw body with the app secret, as in X-Hub-Signature-256. */
export { signBody as signWhatsapp } from '../channels/whatsapp/signature.ts';

import { telegramTextUpdate as buildTelegramUpdate, type TelegramTextOptions } from '../channels/telegram/payload.ts';
import { whatsappTextWebhook as buildWhatsappWebhook } from '../channels/whatsapp/payload.ts';

export type { TelegramTextOptions };

/** A Telegram `Update` with one private text message; the sandbox user writes in Spanish unless told. */
export function telegramTextUpdate(o: TelegramTextOptions): Record<string, unknown> {
  return buildTelegramUpdate({ ...o, languageCode: o.languageCode ?? 'es' });
}

/** The media kinds `wadi simulate` and Try it can send. */
export type SimulatedMedia = 'voice' | 'image' | 'document';

/** A WhatsApp media message (voice note, image or document) by media id. */
export interface WhatsappMediaOptions {
  readonly from: string;
  readonly id: string;
  readonly media: SimulatedMedia;
  readonly mediaId: string;
  readonly mimeType: string;
  readonly sha256?: string;
  readonly caption?: string;
  readonly fileName?: string;
  readonly name?: string;
  readonly phoneNumberId?: string;
  readonly timestamp?: number;
}

/** A `whatsapp_business_account` webhook body carrying one media message, as Meta sends it. */
export function whatsappMediaWebhook(o: WhatsappMediaOptions): Record<string, unknown> {
  const body = buildWhatsappWebhook({ ...o, text: '' });
  const message = (
    ((body.entry as Record<string, unknown>[])[0].changes as Record<string, unknown>[])[0].value as {
      messages: Record<string, unknown>[];
    }
  ).messages[0];
  delete message.text;
  const type = o.media === 'voice' ? 'audio' : o.media;
  message.type = type;
  message[type] = {
    id: o.mediaId,
    mime_type: o.mimeType,
    ...(o.sha256 ? { sha256: o.sha256 } : {}),
    ...(o.media === 'voice' ? { voice: true } : {}),
    ...(o.caption && o.media !== 'voice' ? { caption: o.caption } : {}),
    ...(o.fileName && o.media === 'document' ? { filename: o.fileName } : {}),
  };
  return body;
}

/** A Telegram private media message (voice, photo or document) by file_id. */
export interface TelegramMediaOptions {
  readonly updateId: number;
  readonly chatId: number;
  readonly media: SimulatedMedia;
  readonly fileId: string;
  readonly fileSize?: number;
  readonly mimeType?: string;
  readonly fileName?: string;
  readonly caption?: string;
  readonly name?: string;
  readonly messageId?: number;
  readonly languageCode?: string;
}

/** A Telegram `Update` with one private voice note, photo or document. */
export function telegramMediaUpdate(o: TelegramMediaOptions): Record<string, unknown> {
  const update = telegramTextUpdate({ ...o, text: '' });
  const message = update.message as Record<string, unknown>;
  delete message.text;
  const file = { file_id: o.fileId, file_unique_id: `u${o.fileId}`, ...(o.fileSize ? { file_size: o.fileSize } : {}) };
  if (o.media === 'voice') message.voice = { ...file, duration: 3, mime_type: o.mimeType ?? 'audio/ogg' };
  else if (o.media === 'image') message.photo = [{ ...file, width: 1280, height: 960 }];
  else message.document = { ...file, mime_type: o.mimeType, file_name: o.fileName };
  if (o.caption && o.media !== 'voice') message.caption = o.caption;
  return update;
}
