import type http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listen, readBody, type TestServer } from '../../../test/helpers/servers.ts';
import { loadConfig } from '../../config/config.ts';
import { observabilityChecks } from './checks/observability.ts';
import type { CheckResult, PreflightContext } from './checks/types.ts';
import { webhookChecks } from './checks/webhooks.ts';

const TOKEN = '123456:ABCDEFGHIJKLMNOPQRSTUVWXYZ_secret';
const VERIFY = 'verify-token-abcdefghijklmnop';
const PUBLIC_URL = 'https://wadi.example.com';
const NOW = new Date('2026-11-28T12:00:00Z');

/** A fake Telegram Bot API: getWebhookInfo answers `info`, sendMessage is recorded. */
function fakeBotApi(state: { info: Record<string, unknown>; sent: unknown[] }): http.RequestListener {
  return async (req, res) => {
    res.setHeader('content-type', 'application/json');
    if (req.url === `/bot${TOKEN}/getWebhookInfo`) return res.end(JSON.stringify({ ok: true, result: state.info }));
    if (req.url === `/bot${TOKEN}/sendMessage` && req.method === 'POST') {
      state.sent.push(JSON.parse(await readBody(req)));
      return res.end(JSON.stringify({ ok: true, result: { message_id: 1 } }));
    }
    res.statusCode = 404;
    res.end(JSON.stringify({ ok: false, error_code: 404, description: 'Not Found' }));
  };
}

/** A deployment's WhatsApp handshake: right (echo for VERIFY, else 403) or wrong (echo always). */
function handshake(correct: boolean): http.RequestListener {
  return (req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    if (u.pathname !== '/webhooks/whatsapp') return res.writeHead(404).end();
    if (!correct || u.searchParams.get('hub.verify_token') === VERIFY)
      return res.end(u.searchParams.get('hub.challenge'));
    res.writeHead(403).end();
  };
}

describe('Webhook and alert checks against fake upstreams', () => {
  const state = { info: {} as Record<string, unknown>, sent: [] as unknown[] };
  const slackPosts: string[] = [];
  let bot: TestServer;
  let good: TestServer;
  let wrong: TestServer;
  let slack: TestServer;

  beforeAll(async () => {
    bot = await listen(fakeBotApi(state));
    good = await listen(handshake(true));
    wrong = await listen(handshake(false));
    slack = await listen(async (req, res) => {
      slackPosts.push(await readBody(req));
      if (req.url === '/revoked') res.writeHead(404).end('no_service');
      else res.end('ok');
    });
  });
  afterAll(async () => {
    await Promise.all([bot, good, wrong, slack].map((s) => s?.close()));
  });

  const env = (extra: Record<string, string> = {}) => ({
    NODE_ENV: 'test',
    WADI_SANDBOX: 'false',
    PUBLIC_URL,
    TELEGRAM_BOT_TOKEN: TOKEN,
    TELEGRAM_WEBHOOK_SECRET: 'webhook-secret-abcdefghijk',
    TELEGRAM_MODE: 'webhook',
    TELEGRAM_API_URL: bot.url,
    WHATSAPP_ACCESS_TOKEN: 'wa-access-token-abcdefghijk',
    WHATSAPP_APP_SECRET: 'wa-app-secret-abcdefghijk',
    WHATSAPP_VERIFY_TOKEN: VERIFY,
    WHATSAPP_PHONE_NUMBER_ID: '1234567890',
    ...extra,
  });
  const ctx = (baseUrl: string, e: Record<string, string>, sendTestAlert = false): PreflightContext => ({
    opts: { env: e, cwd: process.cwd(), sendTestAlert },
    config: loadConfig(e, { persistGeneratedKey: false }),
    configProblems: [],
    baseUrl,
    now: () => NOW,
    timeoutMs: 3000,
  });
  const get = (rs: CheckResult[], item: string) => rs.find((r) => r.item === item);
  const noToken = (rs: CheckResult[]) => expect(JSON.stringify(rs)).not.toContain(TOKEN);

  it('passes a Telegram webhook at PUBLIC_URL/webhooks/telegram and a correct WhatsApp handshake', async () => {
    state.info = { url: `${PUBLIC_URL}/webhooks/telegram`, pending_update_count: 0, has_custom_certificate: false };
    const rs = await webhookChecks(ctx(good.url, env()));
    expect(rs.map((r) => [r.item, r.status])).toEqual([
      ['Telegram webhook', 'pass'],
      ['Telegram delivery', 'pass'],
      ['WhatsApp handshake', 'pass'],
    ]);
    noToken(rs);
  });

  it('fails when getWebhookInfo reports a recent error, quoting it', async () => {
    state.info = {
      url: `${PUBLIC_URL}/webhooks/telegram`,
      pending_update_count: 42,
      last_error_date: Math.floor(NOW.getTime() / 1000) - 600,
      last_error_message: 'SSL error {error:0A000086:SSL routines::certificate verify failed}',
    };
    const rs = await webhookChecks(ctx(good.url, env()));
    const d = get(rs, 'Telegram delivery');
    expect(d?.status).toBe('fail');
    expect(d?.detail).toContain('10 min ago');
    expect(d?.detail).toContain('certificate verify failed');
    noToken(rs);
  });

  it('ignores an error older than a day', async () => {
    state.info = {
      url: `${PUBLIC_URL}/webhooks/telegram`,
      last_error_date: Math.floor(NOW.getTime() / 1000) - 3 * 86400,
      last_error_message: 'Connection refused',
    };
    expect(get(await webhookChecks(ctx(good.url, env())), 'Telegram delivery')?.status).toBe('pass');
  });

  it('fails a webhook pointing elsewhere or not set', async () => {
    state.info = { url: 'https://old-host.example.com/webhooks/telegram' };
    const rs = await webhookChecks(ctx(good.url, env()));
    expect(get(rs, 'Telegram webhook')).toMatchObject({ status: 'fail', fix: 'run `wadi telegram set-webhook`' });
    expect(get(rs, 'Telegram webhook')?.detail).toContain('old-host.example.com');
    state.info = { url: '' };
    expect(get(await webhookChecks(ctx(good.url, env())), 'Telegram webhook')?.detail).toBe('no webhook is set');
  });

  it('fails a WhatsApp handshake that accepts any token', async () => {
    state.info = { url: `${PUBLIC_URL}/webhooks/telegram` };
    const rs = await webhookChecks(ctx(wrong.url, env()));
    expect(get(rs, 'WhatsApp handshake')?.status).toBe('fail');
    expect(get(rs, 'WhatsApp handshake')?.detail).toContain('a wrong token got 200 instead of 403');
  });

  it('fails when the Bot API refuses the token, without printing it', async () => {
    const rs = await webhookChecks(ctx(good.url, env({ TELEGRAM_API_URL: `${bot.url}/nowhere` })));
    expect(get(rs, 'Telegram webhook')?.status).toBe('fail');
    noToken(rs);
  });

  it('requires an alert channel and, with --send-test-alert, delivers to Telegram and Slack', async () => {
    const none = await observabilityChecks(ctx('http://127.0.0.1:1', env()));
    expect(get(none, 'alert channels')?.status).toBe('fail');
    const withAlerts = env({ ALERT_TELEGRAM_CHAT_ID: '-100123', ALERT_SLACK_WEBHOOK_URL: `${slack.url}/hook` });
    const dry = await observabilityChecks(ctx('http://127.0.0.1:1', withAlerts));
    expect(get(dry, 'alert channels')).toMatchObject({ status: 'pass', detail: 'Telegram and Slack' });
    expect(get(dry, 'test alert')?.status).toBe('warn');
    expect(state.sent).toHaveLength(0);

    const rs = await observabilityChecks(ctx('http://127.0.0.1:1', withAlerts, true));
    expect(get(rs, 'test alert (Telegram)')?.status).toBe('pass');
    expect(get(rs, 'test alert (Slack)')?.status).toBe('pass');
    expect(state.sent).toEqual([
      expect.objectContaining({ chat_id: '-100123', text: expect.stringContaining('test alert') }),
    ]);
    expect(slackPosts.at(-1)).toContain('test alert');
    noToken(rs);

    const revoked = await observabilityChecks(
      ctx('http://127.0.0.1:1', env({ ALERT_SLACK_WEBHOOK_URL: `${slack.url}/revoked` }), true),
    );
    expect(get(revoked, 'test alert (Slack)')?.status).toBe('fail');
  });

  it('checks /metrics is protected by METRICS_TOKEN, or not public', async () => {
    const metricsToken = 'metrics-token-abcdefghijkl';
    const protectedSrv = await listen((req, res) => {
      if (req.headers.authorization !== `Bearer ${metricsToken}`) return res.writeHead(401).end();
      res.end('# HELP up 1\nup 1\n');
    });
    const open = await listen((_req, res) => res.end('# HELP up 1\nup 1\n'));
    try {
      const ok = await observabilityChecks(ctx(protectedSrv.url, env({ METRICS_TOKEN: metricsToken })));
      expect(get(ok, '/metrics')?.status).toBe('pass');
      const wrongToken = await observabilityChecks(
        ctx(protectedSrv.url, env({ METRICS_TOKEN: 'another-token-abcdefgh' })),
      );
      expect(get(wrongToken, '/metrics')?.status).toBe('fail');
      // Readable without a token at the public address: fail.
      const pub = await observabilityChecks(ctx(open.url, env({ PUBLIC_URL: open.url })));
      expect(get(pub, '/metrics')).toMatchObject({ status: 'fail' });
      expect(get(pub, '/metrics')?.fix).toContain('METRICS_TOKEN');
      // Readable internally but not at the public address: pass.
      const internal = await observabilityChecks(ctx(open.url, env({ PUBLIC_URL: protectedSrv.url })));
      expect(get(internal, '/metrics')?.status).toBe('pass');
    } finally {
      await protectedSrv.close();
      await open.close();
    }
  });
});
