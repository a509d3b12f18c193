import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SANDBOX_CREDENTIALS } from '../config/config.ts';
import { sandboxPlugin } from './module.ts';
import { SandboxState } from './state.ts';

const TOKEN = SANDBOX_CREDENTIALS.telegramBotToken;

describe('fake Telegram Bot API', () => {
  let app: FastifyInstance;
  let url: string;
  const state = new SandboxState();
  beforeAll(async () => {
    app = Fastify();
    await app.register(sandboxPlugin(state));
    url = await app.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(async () => app?.close());

  const call = async (method: string, body: unknown = {}, token: string = TOKEN) => {
    const res = await fetch(`${url}/sandbox/telegram/bot${token}/${method}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> };
  };
  const queue = (text: string) =>
    fetch(`${url}/sandbox/telegram/updates`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ message: { message_id: 1, date: 1, text, chat: { id: 1, type: 'private' } } }),
    }).then((r) => r.json() as Promise<{ update_id: number }>);

  it("answers 400 can't parse entities on HTML Telegram refuses, and counts the length after parsing", async () => {
    const bad = await call('sendMessage', { chat_id: 5, text: 'use <br> here', parse_mode: 'HTML' });
    expect(bad).toMatchObject({
      status: 400,
      body: {
        ok: false,
        error_code: 400,
        description: 'Bad Request: can\'t parse entities: Unsupported start tag "br" at byte offset 4',
      },
    });
    const unbalanced = await call('sendMessage', { chat_id: 5, text: '<b>a <i>b</b></i>', parse_mode: 'HTML' });
    expect(unbalanced.body.description).toBe(
      'Bad Request: can\'t parse entities: Unmatched end tag at byte offset 9, expected "</i>", found "</b>"',
    );
    // The same text without parse_mode is just text.
    expect((await call('sendMessage', { chat_id: 5, text: 'use <br> here' })).status).toBe(200);
    // 4096 visible characters pass even with tags and entities around them; 4097 do not.
    const full = `<b>${'&amp;'.repeat(4000)}</b>${'x'.repeat(96)}`;
    expect((await call('sendMessage', { chat_id: 5, text: full, parse_mode: 'HTML' })).status).toBe(200);
    const over = await call('sendMessage', { chat_id: 5, text: `${full}x`, parse_mode: 'HTML' });
    expect(over.body.description).toBe('Bad Request: message is too long');
    const empty = await call('sendMessage', { chat_id: 5, text: '<b> </b>', parse_mode: 'HTML' });
    expect(empty.body.description).toBe('Bad Request: message text is empty');
  });

  it('refuses any other token with 401 Unauthorized', async () => {
    const r = await call('getMe', {}, '1:wrong');
    expect(r).toMatchObject({ status: 401, body: { ok: false, error_code: 401, description: 'Unauthorized' } });
    expect((await call('getMe')).body).toMatchObject({ ok: true, result: { username: 'wadi_sandbox_bot' } });
  });

  it('gives getUpdates real offset semantics', async () => {
    const a = await queue('a');
    const b = await queue('b');
    const all = (await call('getUpdates', { offset: 0 })).body.result as { update_id: number }[];
    expect(all.map((u) => u.update_id)).toEqual([a.update_id, b.update_id]);
    // Asking from b confirms a: it is gone for good, even for offset 0.
    await call('getUpdates', { offset: b.update_id });
    const rest = (await call('getUpdates', { offset: 0 })).body.result as { update_id: number }[];
    expect(rest.map((u) => u.update_id)).toEqual([b.update_id]);
    await call('getUpdates', { offset: b.update_id + 1 });
  });

  it('answers a waiting long poll as soon as an update arrives', async () => {
    const { body: info } = await call('getWebhookInfo');
    expect(info.result).toMatchObject({ url: '' });
    const waiting = call('getUpdates', { offset: 0, timeout: 20 });
    await new Promise((r) => setTimeout(r, 100));
    const q = await queue('late');
    const r = await waiting;
    expect((r.body.result as { update_id: number }[]).map((u) => u.update_id)).toEqual([q.update_id]);
    await call('getUpdates', { offset: q.update_id + 1 });
  });

  it('answers 409 to getUpdates while a webhook is set, and to the older of two pollers', async () => {
    const first = call('getUpdates', { timeout: 20 });
    await new Promise((r) => setTimeout(r, 100));
    const second = call('getUpdates', { timeout: 1 });
    expect((await first).status).toBe(409);
    expect((await second).status).toBe(200);
    expect((await call('setWebhook', { url: 'http://insecure.example' })).status).toBe(400);
    expect(
      (await call('setWebhook', { url: 'https://bot.example/webhooks/telegram', secret_token: 'a-b_C' })).status,
    ).toBe(200);
    const conflict = await call('getUpdates');
    expect(conflict.status).toBe(409);
    expect(conflict.body.description).toMatch(/webhook is active/);
    await call('deleteWebhook');
    expect((await call('getUpdates')).status).toBe(200);
  });

  it('validates sendMessage text length and chat, and records sends for the outbox', async () => {
    expect((await call('sendMessage', { chat_id: 5, text: '' })).status).toBe(400);
    expect((await call('sendMessage', { chat_id: 5, text: '😀'.repeat(2049) })).body.description).toMatch(/too long/);
    expect((await call('sendMessage', { chat_id: 'x', text: 'hola' })).body.description).toMatch(/chat not found/);
    expect((await call('sendMessage', { chat_id: 5, text: '<b>hola', parse_mode: 'HTML' })).status).toBe(400);
    const ok = await call('sendMessage', { chat_id: 5, text: 'hola' });
    const id = String((ok.body.result as { message_id: number }).message_id);
    const rec = state.calls('telegram').at(-1);
    expect(rec).toMatchObject({ kind: 'sendMessage', status: 200, platformMessageId: id });
    expect(rec?.path).not.toContain(TOKEN);
  });

  it('injects faults: 429 with retry_after and Retry-After, 403, 5xx, delays', async () => {
    state.addFault({ channel: 'telegram', kind: 'sendMessage', status: 429, code: 429, retry_after: 9, count: 1 });
    const r = await call('sendMessage', { chat_id: 5, text: 'x' });
    expect(r.status).toBe(429);
    expect(r.headers.get('retry-after')).toBe('9');
    expect(r.body).toMatchObject({ error_code: 429, parameters: { retry_after: 9 } });
    state.addFault({ channel: 'telegram', kind: 'sendMessage', status: 403, count: 1 });
    expect((await call('sendMessage', { chat_id: 5, text: 'x' })).body.description).toMatch(/blocked/);
    state.addFault({ channel: 'telegram', status: 502, count: 1 });
    expect((await call('sendChatAction', { chat_id: 5, action: 'typing' })).status).toBe(502);
    state.addFault({ channel: 'telegram', kind: 'getMe', delay_ms: 50, count: 1 });
    expect((await call('getMe')).status).toBe(200);
  });
});
