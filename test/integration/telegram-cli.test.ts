import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExtraModule } from '../../src/app/wadi.ts';
import { CliError } from '../../src/cli/common.ts';
import { simulateTelegram } from '../../src/cli/simulate-telegram.ts';
import { formatWebhookInfo, webhookUrl } from '../../src/cli/telegram.ts';
import { SANDBOX_CREDENTIALS } from '../../src/config/config.ts';
import { runWadi } from '../helpers/cli.ts';
import { type TestDb, testDatabase } from '../helpers/db.ts';
import { startTestWadi, type TestWadi } from '../helpers/wadi.ts';

/** Stands in for the conversation engine: answers each new Telegram message through the sender. */
const echoModule: ExtraModule = (ctx, wiring) => ({
  name: 'echo',
  async afterListen() {
    wiring.inboxEvents.on('committed', async (ids: number[]) => {
      const { rows } = await ctx.database.query<{ chat_id: string; event: { text?: string; answer: boolean } }>(
        `select chat_id, event from inbox_messages where id = any($1::bigint[]) and channel = 'telegram'`,
        [ids],
      );
      for (const r of rows) {
        if (!r.event.answer) continue;
        // Chat "0" does not exist: the fake refuses it, which is what the no-reply test needs.
        await wiring.senders
          .get('telegram')
          ?.send({ chatId: r.chat_id, text: `eco: ${r.event.text}` })
          .catch(() => {});
      }
    });
  },
});

describe('webhook URL rules', () => {
  it('accepts https on 443, 80, 88 and 8443 and builds the route', () => {
    expect(webhookUrl('https://bot.example.com')).toBe('https://bot.example.com/webhooks/telegram');
    expect(webhookUrl('https://bot.example.com:8443/wadi/')).toBe(
      'https://bot.example.com:8443/wadi/webhooks/telegram',
    );
    for (const p of [80, 88]) expect(webhookUrl(`https://h.example:${p}`)).toContain(`:${p}/`);
  });
  it('refuses plain http and other ports with the reason', () => {
    expect(() => webhookUrl('http://bot.example.com')).toThrow(/https/);
    expect(() => webhookUrl('https://bot.example.com:3000')).toThrow(/port 3000.*443, 80, 88 or 8443/);
    expect(() => webhookUrl(undefined)).toThrow(CliError);
  });
  it('prints getWebhookInfo readably', () => {
    const text = formatWebhookInfo({
      url: 'https://bot.example.com/webhooks/telegram',
      pending_update_count: 3,
      last_error_date: 1_764_000_000,
      last_error_message: 'Wrong response from the webhook: 503 Service Unavailable',
    });
    expect(text).toContain('Pending updates:  3');
    expect(text).toContain('2025-11-24T16:00:00.000Z: Wrong response from the webhook: 503');
  });
});

describe('wadi telegram and simulate against a running sandbox WADI', () => {
  let t: TestDb;
  let w: TestWadi;
  beforeAll(async () => {
    t = await testDatabase();
    w = await startTestWadi(t.database, {
      env: { TELEGRAM_MODE: 'webhook' },
      features: ['telegram', 'sandbox'],
      extraModules: [echoModule],
    });
  });
  afterAll(async () => {
    await w?.stop();
    await t?.drop();
  });

  it('simulate posts through the real webhook and prints the reply', async () => {
    const out: string[] = [];
    const r = await simulateTelegram({
      text: 'hola',
      from: '700000123',
      url: w.url,
      secret: SANDBOX_CREDENTIALS.telegramWebhookSecret,
      timeoutMs: 10_000,
      out: (l) => out.push(l),
    });
    expect(r.reply).toBe('eco: hola');
    expect(out[0]).toMatch(/update \d+ stored/);
    expect(out[1]).toBe('eco: hola');
  });

  it('simulate fails clearly, saying the update was stored, when nobody answers', async () => {
    const out: string[] = [];
    const err = await simulateTelegram({
      text: 'hola',
      from: '0',
      url: w.url,
      secret: SANDBOX_CREDENTIALS.telegramWebhookSecret,
      timeoutMs: 1500,
      out: (l) => out.push(l),
    }).catch((e) => e);
    expect(err).toBeInstanceOf(CliError);
    expect(err.message).toMatch(/no reply within 2 s \(the update was stored/);
  });

  it('set-webhook refuses a non-https PUBLIC_URL with the reason, exit 1', async () => {
    const http = await runWadi(['telegram', 'set-webhook', '--url', w.url], {
      env: { PUBLIC_URL: 'http://bot.example.com' },
    });
    expect(http.code).toBe(1);
    expect(http.stderr).toContain('PUBLIC_URL must use https://');
  }, 90_000);

  it('set-webhook, info, delete-webhook round trip through the fake Bot API; getWebhookInfo is shared', async () => {
    const set = await runWadi(['telegram', 'set-webhook', '--url', w.url, '--max-connections', '10'], {
      env: { PUBLIC_URL: 'https://bot.example.com' },
    });
    expect(set.stderr).toBe('');
    expect(set.stdout).toContain('webhook set: https://bot.example.com/webhooks/telegram');
    await fetch(`${w.url}/sandbox/telegram/webhook-info`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        last_error_date: 1_764_000_000,
        last_error_message: 'Connection timed out',
        pending_update_count: 4,
      }),
    });
    const info = await runWadi(['telegram', 'info', '--url', w.url]);
    expect(info.stdout).toContain('URL:              https://bot.example.com/webhooks/telegram');
    expect(info.stdout).toContain('Pending updates:  4');
    expect(info.stdout).toContain('Connection timed out');
    expect(info.stdout + info.stderr).not.toContain(SANDBOX_CREDENTIALS.telegramBotToken);
    const shared = await w.wadi.wiring.telegramWebhookInfo?.();
    expect(shared).toMatchObject({
      url: 'https://bot.example.com/webhooks/telegram',
      pendingUpdateCount: 4,
      lastErrorMessage: 'Connection timed out',
    });
    const del = await runWadi(['telegram', 'delete-webhook', '--url', w.url]);
    expect(del.stdout).toContain('webhook deleted');
    expect((await w.wadi.wiring.telegramWebhookInfo?.())?.url).toBe('');
  }, 180_000);

  it('never logs the bot token', () => {
    expect(w.logs.text()).not.toContain(SANDBOX_CREDENTIALS.telegramBotToken.split(':')[1]);
  });
});
