/**
 * The demo path (`npm start`): embedded PGlite, offline assistant, no network. A message is
 * answered deterministically in the locale; commands work; the same SQL runs on PGlite.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InboundEvent } from '../../src/channels/types.ts';
import { type TestDb, testDatabase } from '../helpers/db.ts';
import { TestSender } from '../helpers/test-channel.ts';
import { startTestWadi, type TestWadi } from '../helpers/wadi.ts';

let t: TestDb;
let w: TestWadi;
const wa = new TestSender('whatsapp');
let n = 0;

const ev = (text: string, over: Partial<InboundEvent> = {}): InboundEvent => ({
  channel: 'whatsapp',
  externalId: `wamid.pglite.${++n}`,
  chatId: '34600111222',
  userId: '34600111222',
  chatType: 'private',
  kind: 'text',
  text,
  sentAt: new Date().toISOString(),
  answer: true,
  ...over,
});

async function replies(k: number): Promise<string[]> {
  const deadline = Date.now() + 20_000;
  while (wa.sends.length < k) {
    if (Date.now() > deadline) throw new Error(`expected ${k} replies, got ${wa.sends.length}`);
    await new Promise((r) => setTimeout(r, 25));
  }
  return wa.sends.map((s) => s.text);
}

beforeAll(async () => {
  t = await testDatabase('pglite');
  w = await startTestWadi(t.database, {
    features: ['conversation'],
    senders: [wa],
    env: { COALESCE_DEBOUNCE_MS: '0', WORKER_POLL_MS: '50', LOG_LEVEL: 'warn' },
  });
});
afterAll(async () => {
  await w?.stop();
  await t?.drop();
});

describe('offline demo on PGlite', () => {
  it('answers greetings, help and anything else deterministically, in Spanish by default', async () => {
    const writer = w.wadi.wiring.writer;
    await writer?.accept([ev('hola')]);
    expect((await replies(1))[0]).toBe('¡Hola! ¿En qué puedo ayudarte hoy?');
    await writer?.accept([ev('quiero reservar una mesa')]);
    expect((await replies(2))[1]).toMatch(/^Entendí: «quiero reservar una mesa»\. \(Esta es la demo sin conexión/);
    await writer?.accept([ev('/reset', { kind: 'command', command: { name: 'reset', args: '' } })]);
    expect((await replies(3))[2]).toMatch(/olvidado/);
    await writer?.accept([ev('', { kind: 'sticker', text: undefined })]);
    expect((await replies(4))[3]).toMatch(/stickers/);
    const { rows } = await t.database.query<{ status: string }>(`select distinct status from outbox_messages`);
    expect(rows.map((r) => r.status)).toEqual(['sent']);
  });
});
