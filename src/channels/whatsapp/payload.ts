/**
 * Builds notification bodies shaped like Meta's, for the sandbox, the dashboard's Try it, the
 * simulator, load tests, the test suite and the benchmark: the same envelope (object, entry,
 * changes, value, metadata, contacts) Meta posts. The one builder of WhatsApp webhook bodies.
 */
import { randomBytes } from 'node:crypto';

/** A fresh, unique inbound wamid in Meta's format. */
export function newInboundWamid(): string {
  return `wamid.HBgM${randomBytes(24).toString('base64').replace(/[+/=]/g, 'A')}`;
}

/** The `value` of one change. */
export interface ChangeValue {
  readonly messages?: readonly Record<string, unknown>[];
  readonly statuses?: readonly Record<string, unknown>[];
  readonly contacts?: readonly { profile: { name: string }; wa_id: string }[];
  readonly errors?: readonly Record<string, unknown>[];
}

/** A whole notification with one entry per value given. */
export function notification(phoneNumberId: string, ...values: ChangeValue[]): Record<string, unknown> {
  return {
    object: 'whatsapp_business_account',
    entry: values.map((v, i) => ({
      id: `10${i}000000000000`,
      changes: [
        {
          field: 'messages',
          value: {
            messaging_product: 'whatsapp',
            metadata: { display_phone_number: '15550000000', phone_number_id: phoneNumberId },
            ...v,
          },
        },
      ],
    })),
  };
}

/** A text message from `from`, as Meta delivers it. */
export function textNotification(opts: {
  phoneNumberId: string;
  from: string;
  text: string;
  name?: string;
  wamid?: string;
  timestamp?: number;
}): { body: Record<string, unknown>; wamid: string } {
  const wamid = opts.wamid ?? newInboundWamid();
  const body = notification(opts.phoneNumberId, {
    contacts: [{ profile: { name: opts.name ?? 'Sandbox User' }, wa_id: opts.from }],
    messages: [
      {
        from: opts.from,
        id: wamid,
        timestamp: String(opts.timestamp ?? Math.floor(Date.now() / 1000)),
        type: 'text',
        text: { body: opts.text },
      },
    ],
  });
  return { body, wamid };
}

/** What a WhatsApp text message needs (`whatsappTextWebhook`). */
export interface WhatsappTextOptions {
  readonly from: string;
  readonly text: string;
  readonly id: string;
  readonly name?: string;
  readonly phoneNumberId?: string;
  readonly timestamp?: number;
}

/** A webhook body carrying one text message with a given wamid (`id`). */
export function whatsappTextWebhook(o: WhatsappTextOptions): Record<string, unknown> {
  return textNotification({
    phoneNumberId: o.phoneNumberId ?? '100000000000001',
    from: o.from,
    text: o.text,
    name: o.name ?? 'Sandbox user',
    wamid: o.id,
    timestamp: o.timestamp,
  }).body;
}

/** The delivery statuses Meta reports for an outbound message, in the order they happen. */
export type OutboundStatus = 'sent' | 'delivered' | 'read';

/** A status notification for an outbound message (`wamid`) to `recipient`, as Meta posts it. */
export function statusNotification(opts: {
  phoneNumberId: string;
  wamid: string;
  recipient: string;
  status: OutboundStatus;
  timestamp?: number;
}): Record<string, unknown> {
  const item: Record<string, unknown> = {
    id: opts.wamid,
    status: opts.status,
    timestamp: String(opts.timestamp ?? Math.floor(Date.now() / 1000)),
    recipient_id: opts.recipient,
  };
  if (opts.status !== 'read') {
    // Meta attaches the conversation and pricing to sent and delivered, not to read.
    item.conversation = { id: `conv-${opts.recipient}`, origin: { type: 'service' } };
    item.pricing = { billable: false, pricing_model: 'PMP', category: 'service', type: 'free_customer_service' };
  }
  return notification(opts.phoneNumberId, { statuses: [item] });
}
