/**
 * Turns a WhatsApp Cloud API webhook body into channel-neutral events. Every entry, change,
 * message, status and `value.errors` item is visited; an item that cannot be understood is
 * reported as ignored (with the reason) instead of throwing, so one odd item never costs the
 * others their 200. Unknown message types are kept as kind `unknown` with their payload in `extra`.
 */
import type { DeliveryStatus, InboundEvent, InboundKind, StatusEvent } from '../types.ts';

/** Something in the body WADI did not store, and why (logged by the route). */
export interface IgnoredItem {
  readonly reason: string;
  readonly item?: unknown;
}

/** What one webhook body contained. */
export interface ParsedWebhook {
  readonly events: InboundEvent[];
  readonly statuses: StatusEvent[];
  readonly ignored: IgnoredItem[];
  /** `value.errors` items: system or app errors Meta reports without a message. */
  readonly errors: unknown[];
}

/** What the parser needs to know about this deployment. */
export interface ParseOptions {
  /** Our business number's id; changes for other numbers of the same WABA are ignored. */
  readonly phoneNumberId?: string;
  /** Fallback for missing or invalid timestamps (tests pass a fixed clock). */
  readonly now?: () => Date;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v.length > 0 ? v : undefined);
const num = (v: unknown): number | undefined => {
  const n = typeof v === 'string' ? Number(v) : v;
  return typeof n === 'number' && Number.isFinite(n) ? n : undefined;
};
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

const MEDIA = new Set(['image', 'audio', 'video', 'document', 'sticker']);
const STATUSES = new Set<DeliveryStatus>(['sent', 'delivered', 'read', 'played', 'failed']);
// Keys every message has; anything else beside the type's own payload is kept in `extra.fields`.
const COMMON_KEYS = new Set(['from', 'id', 'timestamp', 'type', 'context']);

/** Parses an already JSON-decoded body. Never throws. */
export function parseWebhook(body: unknown, opts: ParseOptions = {}): ParsedWebhook {
  const out: ParsedWebhook = { events: [], statuses: [], ignored: [], errors: [] };
  if (!isObj(body) || body.object !== 'whatsapp_business_account') {
    out.ignored.push({
      reason: 'not a whatsapp_business_account notification',
      item: isObj(body) ? body.object : body,
    });
    return out;
  }
  const now = opts.now ?? (() => new Date());
  for (const entry of list(body.entry)) {
    for (const change of isObj(entry) ? list(entry.changes) : []) {
      if (!isObj(change) || !isObj(change.value)) {
        out.ignored.push({ reason: 'change without a value', item: change });
        continue;
      }
      if (change.field !== 'messages') {
        out.ignored.push({ reason: `field ${String(change.field)} is not handled`, item: change.field });
        continue;
      }
      parseValue(change.value, opts, now, out);
    }
  }
  return out;
}

function parseValue(value: Obj, opts: ParseOptions, now: () => Date, out: ParsedWebhook): void {
  const phoneNumberId = isObj(value.metadata) ? str(value.metadata.phone_number_id) : undefined;
  const items = list(value.messages).length + list(value.statuses).length;
  if (opts.phoneNumberId && phoneNumberId && phoneNumberId !== opts.phoneNumberId) {
    // Another number on the same WABA: its messages are not ours to answer.
    if (items > 0) out.ignored.push({ reason: `phone_number_id ${phoneNumberId} is not this deployment's` });
    for (const e of list(value.errors)) out.errors.push(e);
    return;
  }
  const names = new Map<string, string>();
  for (const c of list(value.contacts)) {
    if (isObj(c) && str(c.wa_id) && isObj(c.profile) && str(c.profile.name)) {
      names.set(c.wa_id as string, c.profile.name as string);
    }
  }
  for (const m of list(value.messages)) {
    try {
      const ev = parseMessage(m, names, phoneNumberId, now);
      if (typeof ev === 'string') out.ignored.push({ reason: ev, item: m });
      else out.events.push(ev);
    } catch (err) {
      out.ignored.push({ reason: `message could not be parsed: ${(err as Error).message}`, item: m });
    }
  }
  for (const s of list(value.statuses)) {
    const st = parseStatus(s, now);
    if (typeof st === 'string') out.ignored.push({ reason: st, item: s });
    else out.statuses.push(st);
  }
  for (const e of list(value.errors)) out.errors.push(e);
}

function isoFrom(ts: unknown, now: () => Date): string {
  const n = num(ts);
  return n !== undefined && n > 0 ? new Date(n * 1000).toISOString() : now().toISOString();
}

/** One `messages[]` item → an event, or the reason it was not stored. */
function parseMessage(
  m: unknown,
  names: Map<string, string>,
  phoneNumberId: string | undefined,
  now: () => Date,
): InboundEvent | string {
  if (!isObj(m)) return 'message is not an object';
  const id = str(m.id);
  const from = str(m.from);
  if (!id || !from) return 'message without id or from';
  const type = str(m.type) ?? 'unknown';
  const payload = m[type];
  const p = isObj(payload) ? payload : {};
  const extra: Obj = { type };
  if (phoneNumberId) extra.phoneNumberId = phoneNumberId;
  const fields: Obj = {};
  for (const [k, v] of Object.entries(m)) if (!COMMON_KEYS.has(k) && k !== type) fields[k] = v;
  if (Object.keys(fields).length > 0) extra.fields = fields;

  const context = isObj(m.context) ? m.context : undefined;
  if (context) {
    const { id: _id, ...rest } = context;
    if (Object.keys(rest).length > 0) extra.context = rest; // forwarded, frequently_forwarded, from
  }

  let kind: InboundKind;
  let text: string | undefined;
  let answer = true;
  let media: InboundEvent['media'];
  let location: InboundEvent['location'];
  let reaction: InboundEvent['reaction'];

  if (type === 'text') {
    kind = 'text';
    text = typeof p.body === 'string' ? p.body : '';
  } else if (MEDIA.has(type)) {
    kind = type as InboundKind;
    const mediaId = str(p.id);
    if (!mediaId) return `${type} message without a media id`;
    media = {
      id: mediaId,
      mimeType: str(p.mime_type),
      caption: str(p.caption),
      sha256: str(p.sha256),
      fileName: str(p.filename),
    };
    text = media.caption;
    for (const k of ['voice', 'animated', 'url']) if (p[k] !== undefined) extra[k] = p[k];
  } else if (type === 'location') {
    kind = 'location';
    const latitude = num(p.latitude);
    const longitude = num(p.longitude);
    if (latitude === undefined || longitude === undefined) return 'location without coordinates';
    location = { latitude, longitude, name: str(p.name), address: str(p.address) };
    if (p.url !== undefined) extra.url = p.url;
  } else if (type === 'interactive') {
    kind = 'interactive';
    const sub = str(p.type) ?? 'unknown';
    const reply = isObj(p[sub]) ? (p[sub] as Obj) : {};
    text = str(reply.title) ?? str(reply.body);
    extra.interactive = { type: sub, ...reply };
  } else if (type === 'button') {
    // A quick-reply button of a template message.
    kind = 'interactive';
    text = str(p.text) ?? str(p.payload);
    extra.interactive = { type: 'button', payload: p.payload, text: p.text };
  } else if (type === 'reaction') {
    kind = 'reaction';
    answer = false;
    const messageId = str(p.message_id);
    if (!messageId) return 'reaction without message_id';
    // A removed reaction comes without an emoji.
    reaction = { messageId, emoji: str(p.emoji) };
  } else if (type === 'contacts') {
    kind = 'contacts';
    extra.contacts = Array.isArray(payload) ? payload : [];
  } else if (type === 'unsupported') {
    kind = 'unsupported';
    extra.errors = m.errors;
    if (payload !== undefined) extra.unsupported = payload;
  } else {
    // system, order, request_welcome, types Meta adds later: stored for the record, not answered.
    kind = 'unknown';
    answer = false;
    if (payload !== undefined) extra.payload = payload;
  }

  return {
    channel: 'whatsapp',
    externalId: id,
    chatId: from,
    userId: from,
    displayName: names.get(from),
    chatType: 'private',
    kind,
    text,
    media,
    location,
    reaction,
    replyTo: context ? str(context.id) : undefined,
    platformMessageId: id,
    sentAt: isoFrom(m.timestamp, now),
    answer,
    extra,
  };
}

/** What a failed delivery status means, by WhatsApp error code (the rest: `platform_failed`). */
const STATUS_FAILURE_REASONS: ReadonlyMap<string, string> = new Map([
  ['131047', 'window_closed'], // re-engagement: the 24 h customer-service window closed
  ['131026', 'undeliverable'],
]);

/** One `statuses[]` item → a status event, or the reason it was not stored. */
function parseStatus(s: unknown, now: () => Date): StatusEvent | string {
  if (!isObj(s)) return 'status is not an object';
  const id = str(s.id);
  const status = str(s.status);
  if (!id || !status) return 'status without id or status';
  if (!STATUSES.has(status as DeliveryStatus)) return `unknown status ${status}`;
  const err = list(s.errors)[0];
  let error: StatusEvent['error'];
  if (isObj(err)) {
    const data = isObj(err.error_data) ? err.error_data : {};
    error = {
      code: String(err.code ?? 'unknown'),
      title: str(err.title) ?? str(err.message),
      detail: str(data.details) ?? str(err.message),
      reason: STATUS_FAILURE_REASONS.get(String(err.code)) ?? 'platform_failed',
    };
  }
  return {
    channel: 'whatsapp',
    platformMessageId: id,
    status: status as DeliveryStatus,
    occurredAt: isoFrom(s.timestamp, now),
    recipientId: str(s.recipient_id),
    error,
  };
}
