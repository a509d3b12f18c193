/**
 * Platform-shaped inbound webhooks for the sandbox's "Try it": what Meta and Telegram would POST,
 * serialised and authenticated the way they do it, so the message takes WADI's real webhook path.
 * The bodies come from the channels' own builders (channels/<name>/payload.ts).
 */
import { randomBytes } from 'node:crypto';
import { telegramTextUpdate } from '../channels/telegram/payload.ts';
import { metaStringify } from '../channels/whatsapp/meta-json.ts';
import { whatsappTextWebhook } from '../channels/whatsapp/payload.ts';
import { signBody } from '../channels/whatsapp/signature.ts';
import { type SimulatedMedia, telegramMediaUpdate, whatsappMediaWebhook } from '../sandbox/payloads.ts';

/** A file in the sandbox's media store, attached to a Try it message. */
export interface AttachedMedia {
  readonly media: SimulatedMedia;
  readonly id: string;
  readonly mimeType: string;
  readonly sha256: string;
  readonly size: number;
  readonly fileName?: string;
}

/** A request ready to POST to WADI's own webhook. */
export interface WebhookRequest {
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body: string;
  /** The platform id of the message (wamid or update id), for dedupe and display. */
  readonly externalId: string;
}

/**
 * The signed request of a WhatsApp Cloud API text-message webhook from `from` (a wa_id) to our phone
 * number id: the body from channels/whatsapp/payload.ts, serialised and signed the way Meta does.
 */
export function whatsappWebhookRequest(
  opts: { from: string; name: string; text: string; phoneNumberId: string; appSecret: string; media?: AttachedMedia },
  now = new Date(),
): WebhookRequest {
  const wamid = `wamid.SANDBOX${randomBytes(12).toString('hex').toUpperCase()}`;
  const common = {
    phoneNumberId: opts.phoneNumberId,
    from: opts.from,
    name: opts.name,
    id: wamid,
    timestamp: Math.floor(now.getTime() / 1000),
  };
  // A media message carries the media id (the worker downloads it from the fake Graph API) and the text as caption.
  const payload = opts.media
    ? whatsappMediaWebhook({
        ...common,
        media: opts.media.media,
        mediaId: opts.media.id,
        mimeType: opts.media.mimeType,
        sha256: opts.media.sha256,
        caption: opts.text || undefined,
        fileName: opts.media.fileName,
      })
    : whatsappTextWebhook({ ...common, text: opts.text });
  // Meta's serialisation (escaped unicode and slashes): the signature covers these bytes.
  const body = metaStringify(payload);
  return {
    path: '/webhooks/whatsapp',
    headers: { 'content-type': 'application/json', 'x-hub-signature-256': signBody(body, opts.appSecret) },
    body,
    externalId: wamid,
  };
}

let lastUpdateId = 0;

/** Update ids only grow, also across restarts (they start from the clock), so dedupe never drops one. */
function nextUpdateId(now: Date): number {
  lastUpdateId = Math.max(lastUpdateId + 1, now.getTime());
  return lastUpdateId;
}

/** The request of a Telegram private-chat text update from user `from` (numeric id), built by channels/telegram/payload.ts. */
export function telegramWebhookRequest(
  opts: { from: string; name: string; text: string; webhookSecret?: string; media?: AttachedMedia },
  now = new Date(),
): WebhookRequest {
  const id = Number(opts.from);
  const updateId = nextUpdateId(now);
  const common = {
    updateId,
    chatId: id,
    name: opts.name,
    messageId: updateId % 2_000_000_000,
    date: Math.floor(now.getTime() / 1000),
  };
  // A media message carries the file_id (the worker calls the fake Bot API's getFile) and the text as caption.
  const update = opts.media
    ? telegramMediaUpdate({
        ...common,
        media: opts.media.media,
        fileId: opts.media.id,
        fileSize: opts.media.size,
        mimeType: opts.media.mimeType,
        fileName: opts.media.fileName,
        caption: opts.text || undefined,
      })
    : telegramTextUpdate({ ...common, text: opts.text });
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (opts.webhookSecret) headers['x-telegram-bot-api-secret-token'] = opts.webhookSecret;
  return {
    path: '/webhooks/telegram',
    headers,
    body: JSON.stringify(update),
    externalId: `update:${updateId}`,
  };
}
