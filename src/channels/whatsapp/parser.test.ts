import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseWebhook } from './parser.ts';
import { notification } from './payload.ts';

const PHONE = '100000000000001';
const now = () => new Date('2026-01-01T00:00:00Z');

describe('parseWebhook', () => {
  it('falls back to the clock for missing or invalid timestamps and keeps status errors', () => {
    const body = notification(PHONE, {
      messages: [
        { from: '1', id: 'w1', type: 'text', text: { body: 'a' } },
        { from: '1', id: 'w2', timestamp: 'yesterday', type: 'text', text: { body: 'b' } },
      ],
      statuses: [
        {
          id: 'o1',
          status: 'failed',
          timestamp: '1700000000',
          recipient_id: '1',
          errors: [{ code: 131026, title: 'Message undeliverable', error_data: { details: 'not on WhatsApp' } }],
        },
      ],
    });
    const p = parseWebhook(body, { phoneNumberId: PHONE, now });
    expect(p.events.map((e) => e.sentAt)).toEqual(['2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z']);
    expect(p.statuses).toEqual([
      {
        channel: 'whatsapp',
        platformMessageId: 'o1',
        status: 'failed',
        occurredAt: '2023-11-14T22:13:20.000Z',
        recipientId: '1',
        error: { code: '131026', title: 'Message undeliverable', detail: 'not on WhatsApp', reason: 'undeliverable' },
      },
    ]);
  });

  it('ignores other objects, other numbers and other fields, and reports value.errors', () => {
    expect(parseWebhook({ object: 'page', entry: [] }).ignored).toHaveLength(1);
    const other = parseWebhook(
      notification('999', { messages: [{ from: '1', id: 'w', type: 'text', text: { body: 'x' } }], errors: [{}] }),
      { phoneNumberId: PHONE },
    );
    expect(other.events).toEqual([]);
    expect(other.ignored).toHaveLength(1);
    expect(other.errors).toHaveLength(1);
  });

  it('never throws, whatever JSON arrives', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.jsonValue(), (messages, statuses) => {
        const body = notification(PHONE, { messages, statuses } as never);
        const p = parseWebhook(body, { phoneNumberId: PHONE, now });
        for (const e of p.events) expect(typeof e.externalId).toBe('string');
        expect(() => parseWebhook(messages)).not.toThrow();
      }),
    );
    const keys = ['from', 'id', 'timestamp', 'type', 'text', 'context', 'image', 'location', 'reaction', 'interactive'];
    const field = fc.oneof(
      fc.jsonValue(),
      fc.constantFrom(...keys),
      fc.dictionary(fc.constantFrom(...keys), fc.jsonValue()),
    );
    fc.assert(
      fc.property(fc.array(fc.dictionary(fc.constantFrom(...keys), field)), (messages) => {
        const p = parseWebhook(notification(PHONE, { messages }), { phoneNumberId: PHONE, now });
        expect(p.events.length + p.ignored.length).toBe(messages.length);
      }),
    );
  });
});
