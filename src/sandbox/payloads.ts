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

export type { TelegramTextOptions };

/** A Telegram `Update` with one private text message; the sandbox user writes in Spanish unless told. */
export function telegramTextUpdate(o: TelegramTextOptions): Record<string, unknown> {
  return buildTelegramUpdate({ ...o, languageCode: o.languageCode ?? 'es' });
}
