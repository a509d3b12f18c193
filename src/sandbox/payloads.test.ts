import { describe, expect, it } from 'vitest';
import { metaJson, signWhatsapp, telegramTextUpdate, whatsappTextWebhook } from './payloads.ts';

describe('platform payloads', () => {
  it('serialises like Meta: non-ASCII as lowercase \\u escapes, emoji as surrogate pairs', () => {
    const s = metaJson({ text: 'Ñandú ☕ 😀' });
    expect(s).toBe('{"text":"\\u00d1and\\u00fa \\u2615 \\ud83d\\ude00"}');
    expect(JSON.parse(s)).toEqual({ text: 'Ñandú ☕ 😀' });
    expect(/^[\x20-\x7e]*$/.test(s)).toBe(true);
  });

  it('signs the exact bytes with HMAC-SHA256', () => {
    expect(signWhatsapp('{"a":1}', 'secret')).toBe(signWhatsapp(Buffer.from('{"a":1}'), 'secret'));
    expect(signWhatsapp('x', 'a')).not.toBe(signWhatsapp('x', 'b'));
    expect(signWhatsapp('x', 'a')).toMatch(/^sha256=[0-9a-f]{64}$/);
  });

  it('builds a WhatsApp text webhook and a Telegram command update', () => {
    const wa = whatsappTextWebhook({ from: '34600', text: 'hola', id: 'wamid.1' }) as {
      entry: { changes: { value: { messages: { id: string; text: { body: string } }[] } }[] }[];
    };
    expect(wa.entry[0].changes[0].value.messages[0]).toMatchObject({ id: 'wamid.1', text: { body: 'hola' } });
    const tg = telegramTextUpdate({ updateId: 5, chatId: 42, text: '/start promo' }) as {
      message: { entities: { type: string; length: number }[]; chat: { id: number } };
    };
    expect(tg.message.entities[0]).toEqual({ type: 'bot_command', offset: 0, length: 6 });
    expect(tg.message.chat.id).toBe(42);
  });
});
