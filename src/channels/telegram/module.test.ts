import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestDb, testDatabase } from '../../../test/helpers/db.ts';
import { LogCapture, testConfig } from '../../../test/helpers/wadi.ts';
import { createWadi } from '../../app/wadi.ts';
import type { Role } from '../../kernel/module.ts';
import { createLogger } from '../../observability/logging/logger.ts';

describe('telegram module wiring by role', () => {
  let t: TestDb;
  beforeAll(async () => {
    t = await testDatabase();
  });
  afterAll(async () => t?.drop());

  const build = async (role: Role, env: Record<string, string>) => {
    const config = testConfig(env);
    const logKit = createLogger({
      level: 'info',
      format: 'json',
      secrets: config.secrets,
      destination: new LogCapture(),
    });
    const wadi = await createWadi(config, { database: t.database, role, logKit, migrate: true });
    await wadi.app.ready();
    const shape = {
      webhook: wadi.app.hasRoute({ method: 'POST', url: '/webhooks/telegram' }),
      poller: wadi.modules.some((m) => m.services?.some((s) => s.name === 'telegram-poller')),
      sender: wadi.wiring.senders.get('telegram')?.maxTextLength,
      webhookInfo: typeof wadi.wiring.telegramWebhookInfo,
    };
    await wadi.stop();
    return shape;
  };
  const real = {
    WADI_SANDBOX: 'false',
    TELEGRAM_BOT_TOKEN: '123456789:AAEreal-looking_token-0123456789abcdef',
    TELEGRAM_WEBHOOK_SECRET: 'a-long-enough-webhook-secret',
    TELEGRAM_API_URL: 'http://127.0.0.1:9',
    TELEGRAM_MODE: 'polling',
  };

  it('web serves the webhook, worker polls, every role can send', async () => {
    expect(await build('web', real)).toEqual({ webhook: true, poller: false, sender: 4096, webhookInfo: 'function' });
    expect(await build('worker', real)).toEqual({
      webhook: false,
      poller: true,
      sender: 4096,
      webhookInfo: 'function',
    });
    expect(await build('all', real)).toEqual({ webhook: true, poller: true, sender: 4096, webhookInfo: 'function' });
  });

  it('does not poll in webhook mode, nor from a sandbox worker that has no fake Bot API', async () => {
    expect((await build('all', { ...real, TELEGRAM_MODE: 'webhook' })).poller).toBe(false);
    expect((await build('worker', { TELEGRAM_MODE: 'polling' })).poller).toBe(false);
  });
});
