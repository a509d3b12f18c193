/**
 * Channel-neutral events and the outbound port. Channel adapters (whatsapp/, telegram/) turn
 * platform payloads into these and implement `ChannelSender`; everything past the webhook (inbox,
 * conversation, outbox) only ever sees these types.
 */

/** The platforms WADI talks on. */
export type ChannelName = 'whatsapp' | 'telegram';

/** What kind of thing the user sent. */
export type InboundKind =
  | 'text'
  | 'command'
  | 'image'
  | 'audio'
  | 'video'
  | 'document'
  | 'sticker'
  | 'location'
  | 'contacts'
  | 'interactive'
  | 'callback'
  | 'reaction'
  | 'edited'
  | 'unsupported'
  | 'unknown';

/** One thing a user did, as WADI stores it in the inbox. */
export interface InboundEvent {
  readonly channel: ChannelName;
  /** Dedupe key, unique per channel: the wamid, or `update:<update_id>` on Telegram. */
  readonly externalId: string;
  /** Where replies go (WhatsApp wa_id, Telegram chat id). */
  readonly chatId: string;
  /** The person (platform user id). */
  readonly userId: string;
  readonly displayName?: string;
  readonly chatType: 'private' | 'group' | 'supergroup' | 'channel';
  readonly kind: InboundKind;
  /** Text, caption, button/list title or callback data: what the assistant reads. */
  readonly text?: string;
  /** `/start payload` → { name: 'start', args: 'payload' }. */
  readonly command?: { readonly name: string; readonly args: string };
  readonly media?: {
    readonly id: string;
    readonly mimeType?: string;
    readonly caption?: string;
    readonly sha256?: string;
    readonly fileName?: string;
  };
  readonly location?: {
    readonly latitude: number;
    readonly longitude: number;
    readonly name?: string;
    readonly address?: string;
  };
  readonly reaction?: { readonly messageId: string; readonly emoji?: string };
  /** The platform id of the message this one replies to. */
  readonly replyTo?: string;
  /** The platform's own message id (wamid, Telegram message_id), for read marks and replies. */
  readonly platformMessageId?: string;
  /** When the platform says it was sent (ISO 8601). */
  readonly sentAt: string;
  /** False when WADI records the event but must not answer it (edits, reactions, unmentioned group messages). */
  readonly answer: boolean;
  /** Locale hint from the platform (Telegram language_code). */
  readonly locale?: string;
  /** Anything else worth keeping from the platform payload (unknown fields included). */
  readonly extra?: Record<string, unknown>;
}

/** Delivery state of something WADI sent, as reported by a status webhook. */
export type DeliveryStatus = 'sent' | 'delivered' | 'read' | 'played' | 'failed';

/** One status webhook item. */
export interface StatusEvent {
  readonly channel: ChannelName;
  readonly platformMessageId: string;
  readonly status: DeliveryStatus;
  readonly occurredAt: string;
  readonly recipientId?: string;
  readonly error?: {
    readonly code: string;
    readonly title?: string;
    readonly detail?: string;
    /**
     * What a failure means in WADI's terms (outbox failure_reason), decided by the channel from its
     * platform's error code: e.g. `window_closed`, `undeliverable`. Absent: `platform_failed`.
     */
    readonly reason?: string;
  };
}

/** A message to send. */
export interface OutboundMessage {
  readonly chatId: string;
  readonly text: string;
  /** Platform id of the message being answered (reply threading). */
  readonly replyTo?: string;
  readonly options?: Record<string, unknown>;
}

/** What the platform said when it accepted a send. */
export interface SendResult {
  readonly platformMessageId: string;
  /**
   * Set when what went out differs from the message given: the platform refused its formatting
   * and the sender resent it as plain text (Telegram "can't parse entities").
   */
  readonly sentAsPlain?: { readonly text: string };
}

/**
 * The outbound port each channel implements. Implementations throw `ChannelError` subclasses
 * (see errors.ts) whose class decides whether the dispatcher retries.
 */
export interface ChannelSender {
  readonly channel: ChannelName;
  /** Longest text one message may carry, in the platform's own units. */
  readonly maxTextLength: number;
  /**
   * Splits a long reply into sendable parts, keeping the channel's markup valid in each one.
   * `options` are the send options the parts will go out with (Telegram reads `parse_mode`).
   */
  split(text: string, options?: Readonly<Record<string, unknown>>): string[];
  send(message: OutboundMessage): Promise<SendResult>;
  /** Shows "typing…" (WhatsApp: also marks `replyTo` read). Best effort: never throws. */
  typing(chatId: string, replyTo?: string): Promise<void>;
}

/** What one `accept` call stored. */
export interface AcceptResult {
  /** Events newly stored. */
  readonly accepted: number;
  /** Events already stored before (redeliveries). */
  readonly duplicates: number;
  /** Status items newly stored. */
  readonly statuses: number;
  /** Status items already seen. */
  readonly duplicateStatuses: number;
  /** Inbox ids of the newly stored events, in input order. */
  readonly ids: readonly number[];
  /** Per input event: true when this call stored it (false: a redelivery, or unstorable). */
  readonly fresh: readonly boolean[];
  /**
   * Events and statuses the database refused even after normalisation; the delivery is kept in
   * `unstorable_deliveries` (see `deadLetterId`) and may be acknowledged: retrying cannot help.
   */
  readonly unstorable?: number;
  /** The `unstorable_deliveries` row holding this delivery, when `unstorable` > 0. */
  readonly deadLetterId?: number;
}

/** Where a delivery came from, kept when it cannot be stored. */
export interface DeliverySource {
  readonly channel: ChannelName;
  /** The delivery's bytes as received (the webhook body); kept base64 if it cannot be stored. */
  readonly raw?: Uint8Array;
}

/**
 * Where a channel stores what it received: resolves once the events and statuses are committed,
 * so the channel may acknowledge the platform. The inbox writer (src/inbox) implements it.
 */
export interface InboundStore {
  accept(
    events: readonly InboundEvent[],
    statuses?: readonly StatusEvent[],
    traceContext?: string,
    source?: DeliverySource,
  ): Promise<AcceptResult>;
  /** Moves a Telegram group's conversation to its new supergroup chat id (idempotent); whether one moved. */
  followGroupMigration(fromChatId: string, toChatId: string): Promise<boolean>;
}
