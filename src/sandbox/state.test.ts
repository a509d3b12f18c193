import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { sandboxRoutes } from './routes.ts';
import { type SandboxCall, SandboxState } from './state.ts';

const image = `data:image/jpeg;base64,${'A'.repeat(160_000)}`;
const chat = (text: string) => ({
  model: 'sandbox-model',
  messages: [
    { role: 'system', content: 'You are WADI. '.repeat(100) },
    {
      role: 'user',
      content: [
        { type: 'text', text },
        { type: 'image_url', image_url: { url: image } },
      ],
    },
  ],
});
const recordChat = (s: SandboxState, text: string) =>
  s.record({ channel: 'llm', kind: 'chat_completion', method: 'POST', path: '/c', body: chat(text), status: 200 });
const recordSend = (s: SandboxState, to: string) =>
  s.record({
    channel: 'whatsapp',
    kind: 'send_text',
    method: 'POST',
    path: '/m',
    body: { to, type: 'text', text: { body: `reply to ${to}` } },
    status: 200,
    platformMessageId: `wamid.${to}`,
  });

describe('the sandbox call log is bounded', () => {
  it('keeps the most recent chat requests whole and compacts older ones (images and prompts cut, metadata kept)', () => {
    const s = new SandboxState({ maxBodyBytes: 1_000_000 });
    for (let i = 0; i < 20; i++) recordChat(s, `photo ${i}`);
    const calls = s.calls('llm');
    expect(calls).toHaveLength(20);
    const whole = calls.filter((c) => c.compactedFromBytes === undefined);
    // ≈ 161 KB per request: six fit in 1 MB, the newest always whole.
    expect(whole.length).toBeGreaterThanOrEqual(5);
    expect(whole.length).toBeLessThanOrEqual(6);
    expect(whole.at(-1)?.seq).toBe(20);
    expect(JSON.stringify(whole.at(-1)?.body)).toContain(image);
    const old = calls[0];
    expect(old).toMatchObject({ seq: 1, channel: 'llm', kind: 'chat_completion', status: 200 });
    expect(old.compactedFromBytes).toBeGreaterThan(160_000);
    expect(old.body).toEqual({ model: 'sandbox-model', messages: [{ role: 'system' }, { role: 'user' }] });
    expect(JSON.stringify(calls.map((c) => c.body)).length).toBeLessThan(1_100_000);
    expect(s.logStats().wholeBodyBytes).toBeLessThanOrEqual(1_000_000);
  });

  it('cuts long strings of other compacted bodies and keeps their short fields', () => {
    const s = new SandboxState({ maxBodyBytes: 2_000 });
    const long = 'x'.repeat(5_000);
    s.record({
      channel: 'telegram',
      kind: 'sendMessage',
      method: 'POST',
      path: '/t',
      body: { chat_id: 42, text: long },
      status: 200,
    });
    recordSend(s, '34600000001');
    const [old] = s.calls('telegram');
    const body = old.body as { chat_id: number; text: string };
    expect(body.chat_id).toBe(42);
    expect(body.text.startsWith('x'.repeat(256))).toBe(true);
    expect(body.text).toContain('4744 more characters not kept');
    expect(s.calls('whatsapp')[0].body).toEqual({
      to: '34600000001',
      type: 'text',
      text: { body: 'reply to 34600000001' },
    });
  });

  it('forgets the oldest calls past maxCalls or maxBytes; summary() still counts every call', () => {
    const s = new SandboxState({ maxCalls: 1_000, maxBodyBytes: 50_000, maxBytes: 200_000 });
    for (let i = 0; i < 5_000; i++) recordSend(s, String(34600000000 + i));
    const st = s.logStats();
    expect(st.calls).toBeLessThanOrEqual(1_000);
    expect(st.bytes).toBeLessThanOrEqual(200_000);
    const kept = s.calls();
    expect(kept.at(-1)?.seq).toBe(5_000);
    expect(kept[0].seq).toBe(st.oldestSeq);
    // Contiguous, oldest first.
    expect(kept.every((c, i) => i === 0 || c.seq === kept[i - 1].seq + 1)).toBe(true);
    expect(s.summary()).toEqual({ whatsapp: { send_text: 5_000 }, last: { seq: 5_000 } });

    const big = new SandboxState({ maxBodyBytes: 400_000, maxBytes: 400_000 });
    for (let i = 0; i < 50; i++) recordChat(big, `photo ${i}`);
    expect(big.logStats().bytes).toBeLessThanOrEqual(400_000);
    expect(big.calls().at(-1)?.seq).toBe(50);
  });

  it('answers calls after a sequence number per channel, across forgotten calls and a reset', async () => {
    const s = new SandboxState({ maxCalls: 3_000 });
    const all: SandboxCall[] = [];
    for (let i = 0; i < 9_000; i++)
      all.push(
        i % 3 === 0
          ? recordSend(s, String(i))
          : s.record({
              channel: 'telegram',
              kind: 'sendMessage',
              method: 'POST',
              path: '/t',
              body: { i },
              status: 200,
            }),
      );
    const kept = all.slice(-3_000);
    for (const after of [0, 5_000, 6_000, 6_001, 8_999, 9_000])
      for (const ch of [undefined, 'whatsapp', 'telegram'] as const)
        expect(s.calls(ch, after).map((c) => c.seq)).toEqual(
          kept.filter((c) => c.seq > after && (!ch || c.channel === ch)).map((c) => c.seq),
        );

    const app = Fastify();
    await app.register(sandboxRoutes(s));
    const counted = (await app.inject({ url: '/sandbox/outbox?channel=whatsapp&after=8000&count=1' })).json();
    expect(counted).toEqual({ count: kept.filter((c) => c.seq > 8_000 && c.channel === 'whatsapp').length });
    await app.close();

    s.reset();
    expect(s.calls()).toEqual([]);
    expect(s.summary()).toEqual({ last: { seq: 9_000 } });
    expect(recordSend(s, '1').seq).toBe(9_001);
    expect(s.calls(undefined, 0).map((c) => c.seq)).toEqual([9_001]);
    expect(s.logStats()).toMatchObject({ calls: 1, wholeBodies: 1 });
  });
});
