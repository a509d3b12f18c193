/**
 * Platform-shaped inbound payloads, built the way Meta and Telegram build them: for `wadi simulate`,
 * the dashboard's Try it, load tests and the test suite.
 */

/** JSON the way Meta serialises webhook bodies (see channels/whatsapp/meta-json.ts). */
export { metaStringify as metaJson } from '../channels/whatsapp/meta-json.ts';
/** `sha256=<hex>` HMAC of the raw body with the app secret, as in X-Hub-Signature-256. */
export { signBody as signWhatsapp } from '../channels/whatsapp/signature.ts';

/** What a WhatsApp text message needs. */
export interface WhatsappTextOptions {
  readonly from: string;
  readonly text: string;
  readonly id: string;
  readonly name?: string;
  readonly phoneNumberId?: string;
  readonly timestamp?: number;
}

/** A `whatsapp_business_account` webhook body carrying one text message. */
export function whatsappTextWebhook(o: WhatsappTextOptions): Record<string, unknown> {
  return {
    object: 'whatsapp_business_account',
    entry: [
      {
        id: '102290129340398',
        changes: [
          {
            field: 'messages',
            value: {
              messaging_product: 'whatsapp',
              metadata: { display_phone_number: '15550783881', phone_number_id: o.phoneNumberId ?? '100000000000001' },
              contacts: [{ profile: { name: o.name ?? 'Sandbox user' }, wa_id: o.from }],
              messages: [
                {
                  from: o.from,
                  id: o.id,
                  timestamp: String(o.timestamp ?? Math.floor(Date.now() / 1000)),
                  type: 'text',
                  text: { body: o.text },
                },
              ],
            },
          },
        ],
      },
    ],
  };
}

/** What a Telegram private text message needs. */
export interface TelegramTextOptions {
  readonly updateId: number;
  readonly chatId: number;
  readonly text: string;
  readonly name?: string;
  readonly messageId?: number;
  readonly languageCode?: string;
}

/** A Telegram `Update` with one private text message. */
export function telegramTextUpdate(o: TelegramTextOptions): Record<string, unknown> {
  const from = {
    id: o.chatId,
    is_bot: false,
    first_name: o.name ?? 'Sandbox user',
    language_code: o.languageCode ?? 'es',
  };
  const entities = o.text.startsWith('/')
    ? [{ type: 'bot_command', offset: 0, length: o.text.split(/\s/)[0].length }]
    : undefined;
  return {
    update_id: o.updateId,
    message: {
      message_id: o.messageId ?? o.updateId % 1_000_000_000,
      from,
      chat: { id: o.chatId, type: 'private', first_name: from.first_name },
      date: Math.floor(Date.now() / 1000),
      text: o.text,
      ...(entities ? { entities } : {}),
    },
  };
}
