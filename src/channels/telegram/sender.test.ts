import Fastify, { type FastifyInstance } from 'fastify';
import { GrammyError } from 'grammy';
import pino from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SANDBOX_CREDENTIALS } from '../../config/config.ts';
import { metrics } from '../../observability/metrics/metrics.ts';
import { sandboxPlugin } from '../../sandbox/module.ts';
import { SandboxState } from '../../sandbox/state.ts';
import { PermanentSendError, RetryableSendError } from '../errors.ts';
import type { ChannelSender } from '../types.ts';
import { TelegramClient } from './client.ts';
import { mapTelegramError } from './errors.ts';
import { type Clock, Pacer } from './pacing.ts';
import { telegramSender } from './sender.ts';

const TOKEN = SANDBOX_CREDENTIALS.telegramBotToken;

/** Sleeping advances the clock instantly: no test waits for real time. */
class FakeClock implements Clock {
  t = 0;
  slept: number[] = [];
  now() {
    return this.t;
  }
  async sleep(ms: number) {
    this.slept.push(ms);
    this.t += ms;
  }
}

describe('telegram sender against the fake Bot API', () => {
  let fake: FastifyInstance;
  let url: string;
  const state = new SandboxState();
  const lines: string[] = [];
  const logger = pino({ level: 'debug' }, { write: (l: string) => void lines.push(l) });
  let clock: FakeClock;
  let sender: ChannelSender;

  beforeAll(async () => {
    fake = Fastify();
    await fake.register(sandboxPlugin(state));
    url = await fake.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(async () => fake?.close());
  beforeEach(() => {
    state.reset();
    clock = new FakeClock();
    const client = new TelegramClient({ token: TOKEN, apiRoot: `${url}/sandbox/telegram`, logger });
    sender = telegramSender({ client, pacer: new Pacer({ clock }), logger });
  });

  const fault = (f: { status?: number; code?: number; retry_after?: number }) =>
    state.addFault({ channel: 'telegram', kind: 'sendMessage', count: 1, ...f });
  const sends = () => state.calls('telegram').filter((c) => c.kind === 'sendMessage');

  it('sends a reply threaded to the message it answers and returns the message_id', async () => {
    const r = await sender.send({ chatId: '42', text: 'hola', replyTo: '7' });
    expect(r.platformMessageId).toMatch(/^\d+$/);
    const call = sends()[0];
    expect(call.body).toMatchObject({ chat_id: '42', text: 'hola', reply_parameters: { message_id: 7 } });
    expect(call.platformMessageId).toBe(r.platformMessageId);
  });

  it('on 429 throws a retryable error carrying retry_after and holds the chat until then', async () => {
    fault({ status: 429, code: 429, retry_after: 7 });
    const err = await sender.send({ chatId: '42', text: 'uno' }).catch((e) => e);
    expect(err).toBeInstanceOf(RetryableSendError);
    expect(err.retryAfterMs).toBe(7000);
    expect(err.code).toBe('429');
    // The dispatcher's retry: the pacer makes it wait the full retry_after on the fake clock.
    const before = clock.t;
    await sender.send({ chatId: '42', text: 'uno' });
    expect(clock.t - before).toBe(7000);
    expect(sends().map((c) => c.status)).toEqual([429, 200]);
  });

  it('classifies 403 (blocked) as permanent with reason blocked', async () => {
    fault({ status: 403, code: 403 });
    const err = await sender.send({ chatId: '43', text: 'hola' }).catch((e) => e);
    expect(err).toBeInstanceOf(PermanentSendError);
    expect(err.reason).toBe('blocked');
  });

  it('classifies chat not found and message too long as permanent', async () => {
    const notFound = await sender.send({ chatId: 'nobody', text: 'hola' }).catch((e) => e);
    expect(notFound).toBeInstanceOf(PermanentSendError);
    expect(notFound.reason).toBe('chat_not_found');
    const tooLong = await sender.send({ chatId: '44', text: 'x'.repeat(4097) }).catch((e) => e);
    expect(tooLong).toBeInstanceOf(PermanentSendError);
    expect(tooLong.reason).toBe('bad_request');
  });

  it('classifies 5xx as retryable', async () => {
    fault({ status: 502, code: 502 });
    const err = await sender.send({ chatId: '45', text: 'hola' }).catch((e) => e);
    expect(err).toBeInstanceOf(RetryableSendError);
  });

  it('classifies network errors as retryable without leaking the token', async () => {
    const client = new TelegramClient({ token: TOKEN, apiRoot: 'http://127.0.0.1:1/sandbox/telegram', logger });
    const s = telegramSender({ client, pacer: new Pacer({ clock }), logger });
    const err = await s.send({ chatId: '46', text: 'hola' }).catch((e) => e);
    expect(err).toBeInstanceOf(RetryableSendError);
    expect(JSON.stringify({ m: err.message, c: err.code, s: String(err.stack) })).not.toContain(TOKEN.split(':')[1]);
    await s.typing('46'); // best effort: never throws
    expect(lines.join('\n')).not.toContain(TOKEN.split(':')[1]);
  });

  it('sends typing as one sendChatAction', async () => {
    await sender.typing('42');
    expect(state.calls('telegram').map((c) => [c.kind, (c.body as { action: string }).action])).toEqual([
      ['sendChatAction', 'typing'],
    ]);
  });

  it('paces a burst to one chat at one message per second', async () => {
    await Promise.all([1, 2, 3, 4].map((i) => sender.send({ chatId: '47', text: `m${i}` })));
    expect(sends()).toHaveLength(4);
    expect(clock.slept.sort((a, b) => a - b)).toEqual([1000, 2000, 3000]);
  });

  it('resends a part whose HTML Telegram refuses once as plain text, links kept, and counts it', async () => {
    const before = (await metrics.telegramPlainFallbacks.get()).values[0]?.value ?? 0;
    const html = 'Hola <b>Ana</b>: mira <a href="https://x.io/?a=1&amp;b=2">esto</a> &lt;ya&gt; <br> fin';
    const r = await sender.send({ chatId: '49', text: html, options: { parse_mode: 'HTML' } });
    const calls = sends();
    expect(calls.map((c) => c.status)).toEqual([400, 200]);
    expect((calls[0].body as { description?: string; parse_mode?: string }).parse_mode).toBe('HTML');
    const resent = calls[1].body as { text: string; parse_mode?: string };
    expect(resent.parse_mode).toBeUndefined();
    expect(resent.text).toBe('Hola Ana: mira esto (https://x.io/?a=1&b=2) <ya>  fin');
    expect(r).toEqual({ platformMessageId: calls[1].platformMessageId, sentAsPlain: { text: resent.text } });
    expect((await metrics.telegramPlainFallbacks.get()).values[0]?.value).toBe(before + 1);
  });

  it('resends as plain text only once, and never for other refusals', async () => {
    fault({ status: 400, code: 400 });
    state.addFault({
      channel: 'telegram',
      kind: 'sendMessage',
      status: 400,
      code: 400,
      count: 1,
      description: 'Bad Request: can\'t parse entities: Unsupported start tag "x" at byte offset 0',
    });
    const notFound = await sender
      .send({ chatId: '50', text: '<b>a</b>', options: { parse_mode: 'HTML' } })
      .catch((e) => e);
    expect(notFound).toMatchObject({ reason: 'chat_not_found' });
    state.addFault({
      channel: 'telegram',
      kind: 'sendMessage',
      status: 400,
      code: 400,
      count: 2,
      description: 'Bad Request: can\'t parse entities: Unsupported start tag "x" at byte offset 0',
    });
    const twice = await sender
      .send({ chatId: '50', text: '<b>a</b>', options: { parse_mode: 'HTML' } })
      .catch((e) => e);
    expect(twice).toBeInstanceOf(PermanentSendError);
    expect(twice.reason).toBe('bad_markup');
    expect(sends().map((c) => c.status)).toEqual([400, 400, 400]);
  });

  it('splits to the 4096 limit with balanced HTML that the Bot API accepts', async () => {
    const client = new TelegramClient({ token: TOKEN, apiRoot: `${url}/sandbox/telegram`, logger });
    const s = telegramSender({ client, pacer: new Pacer({ clock }), logger, parseMode: 'HTML' });
    const parts = s.split(`<b>${'muy largo '.repeat(1000)}</b>`);
    expect(parts.length).toBe(3);
    for (const p of parts) await s.send({ chatId: '48', text: p });
    // The parse mode can also come with the message (as replies stored in the outbox do).
    const perMessage = sender.split(`<pre>${'x &lt; y\n'.repeat(800)}</pre>`, { parse_mode: 'HTML' });
    expect(perMessage.length).toBe(2);
    for (const p of perMessage) await sender.send({ chatId: '48', text: p, options: { parse_mode: 'HTML' } });
    expect(sends().map((c) => c.status)).toEqual([200, 200, 200, 200, 200]);
  });
});

describe('telegram error mapping', () => {
  const err = (code: number, description: string, parameters = {}) =>
    new GrammyError('x', { ok: false, error_code: code, description, parameters }, 'sendMessage', {});
  it('turns a group upgrade into a permanent error with the new chat id', () => {
    const e = mapTelegramError(
      err(400, 'Bad Request: group chat was upgraded to a supergroup chat', { migrate_to_chat_id: -100987 }),
      'sendMessage',
    );
    expect(e).toBeInstanceOf(PermanentSendError);
    expect((e as PermanentSendError).migrateToChatId).toBe('-100987');
  });
  it('maps deactivated and kicked (403) to blocked and a bad token to auth', () => {
    for (const d of ['Forbidden: user is deactivated', 'Forbidden: bot was kicked from the group chat']) {
      expect((mapTelegramError(err(403, d), 'sendMessage') as PermanentSendError).reason).toBe('blocked');
    }
    expect((mapTelegramError(err(401, 'Unauthorized'), 'sendMessage') as PermanentSendError).reason).toBe('auth');
  });
});
