import { describe, expect, it } from 'vitest';
import { webhookInfoCheck } from './webhook-check.ts';

const NOW = 1_764_000_000_000;
const info =
  (over = {}) =>
  async () => ({ url: 'https://bot.example/webhooks/telegram', pendingUpdateCount: 0, ...over });

describe('telegram dependency check', () => {
  it('passes with a healthy webhook and warns on a recent delivery error or a backlog', async () => {
    expect((await webhookInfoCheck(info(), 'webhook', () => NOW).run()).status).toBe('pass');
    const err = await webhookInfoCheck(
      info({ lastErrorDate: NOW / 1000 - 60, lastErrorMessage: 'Connection timed out' }),
      'webhook',
      () => NOW,
    ).run();
    expect(err).toMatchObject({ status: 'warn', output: 'last delivery error: Connection timed out' });
    const old = await webhookInfoCheck(info({ lastErrorDate: NOW / 1000 - 86_400 }), 'webhook', () => NOW).run();
    expect(old.status).toBe('pass');
    expect((await webhookInfoCheck(info({ pendingUpdateCount: 500 }), 'webhook', () => NOW).run()).status).toBe('warn');
  });
  it('warns when the mode and Telegram disagree, fails when the Bot API is unreachable', async () => {
    expect((await webhookInfoCheck(info({ url: '' }), 'webhook').run()).status).toBe('warn');
    expect((await webhookInfoCheck(info(), 'polling').run()).output).toMatch(/409/);
    expect((await webhookInfoCheck(info({ url: '' }), 'polling').run()).status).toBe('pass');
    const down = webhookInfoCheck(async () => Promise.reject(new Error('ECONNREFUSED')), 'webhook');
    expect((await down.run()).status).toBe('fail');
  });
});
