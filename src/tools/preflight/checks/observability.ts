/** Observability: /metrics answers and is protected or internal; alert channels configured and,
 * with --send-test-alert, a test notification is delivered (directly, not through the alert engine). */
import { request } from './http.ts';
import type { CheckResult, PreflightContext } from './types.ts';
import { section } from './types.ts';

const s = section('Observability');

/** The Observability section. */
export async function observabilityChecks(ctx: PreflightContext): Promise<CheckResult[]> {
  return [...(await metricsCheck(ctx)), ...(await alertChecks(ctx))];
}

async function metricsCheck(ctx: PreflightContext): Promise<CheckResult[]> {
  const token = ctx.opts.env.METRICS_TOKEN?.trim();
  const t = { timeoutMs: ctx.timeoutMs, ca: ctx.opts.ca };
  const item = '/metrics';
  try {
    const anon = await request(`${ctx.baseUrl}/metrics`, t);
    if (anon.status === 404) return [s.fail(item, '/metrics answered 404', 'run a WADI version that serves /metrics')];
    if (token) {
      const authed = await request(`${ctx.baseUrl}/metrics`, { ...t, headers: { authorization: `Bearer ${token}` } });
      if (anon.status === 200) {
        return [
          s.fail(
            item,
            'METRICS_TOKEN is set but /metrics answers without it',
            'make the deployment run with this METRICS_TOKEN',
          ),
        ];
      }
      if (authed.status !== 200 || !authed.body.includes('# HELP')) {
        return [
          s.fail(
            item,
            `with METRICS_TOKEN /metrics answered ${authed.status}`,
            'make the deployment run with this METRICS_TOKEN',
          ),
        ];
      }
      return [s.pass(item, `answers Prometheus text with the token, ${anon.status} without`)];
    }
    if (anon.status !== 200) return [s.fail(item, `/metrics answered ${anon.status}`, 'check the deployment logs')];
    const publicUrl = ctx.opts.env.PUBLIC_URL?.trim().replace(/\/+$/, '');
    if (!publicUrl) {
      return [
        s.warn(
          item,
          'answers without a token; cannot tell whether it is public (PUBLIC_URL unset)',
          'set METRICS_TOKEN',
        ),
      ];
    }
    try {
      const pub = await request(`${publicUrl}/metrics`, { ...t, insecure: true });
      if (pub.status === 200 && pub.body.includes('# HELP')) {
        return [
          s.fail(
            item,
            `readable by anyone at ${publicUrl}/metrics`,
            'set METRICS_TOKEN, or block /metrics at the proxy',
          ),
        ];
      }
      return [s.pass(item, `answers internally; ${publicUrl}/metrics is not public (${pub.status})`)];
    } catch {
      return [s.pass(item, `answers internally; ${publicUrl} does not serve it`)];
    }
  } catch (err) {
    return [s.fail(item, `cannot reach ${ctx.baseUrl}: ${(err as Error).message}`, 'start WADI, or pass --url')];
  }
}

/** Where alerts go, from the environment. */
export function alertChannels(env: Record<string, string | undefined>): {
  telegram?: { chatId: string; token: string; apiUrl: string };
  slack?: string;
} {
  const chatId = env.ALERT_TELEGRAM_CHAT_ID?.trim();
  const token = env.ALERT_TELEGRAM_BOT_TOKEN?.trim() || env.TELEGRAM_BOT_TOKEN?.trim();
  const apiUrl = (env.TELEGRAM_API_URL?.trim() || 'https://api.telegram.org').replace(/\/+$/, '');
  return {
    telegram: chatId && token ? { chatId, token, apiUrl } : undefined,
    slack: env.ALERT_SLACK_WEBHOOK_URL?.trim() || undefined,
  };
}

async function alertChecks(ctx: PreflightContext): Promise<CheckResult[]> {
  const ch = alertChannels(ctx.opts.env);
  const names = [ch.telegram && 'Telegram', ch.slack && 'Slack'].filter(Boolean);
  if (names.length === 0) {
    return [
      s.fail(
        'alert channels',
        'none configured: nobody would be told when WADI fails',
        'set ALERT_TELEGRAM_CHAT_ID (+ ALERT_TELEGRAM_BOT_TOKEN) or ALERT_SLACK_WEBHOOK_URL',
      ),
    ];
  }
  const out = [s.pass('alert channels', names.join(' and '))];
  if (!ctx.opts.sendTestAlert) {
    out.push(s.warn('test alert', 'not sent, so delivery is unproven', 'run `wadi preflight --send-test-alert`'));
    return out;
  }
  const text = `WADI preflight test alert from ${ctx.opts.env.PUBLIC_URL ?? ctx.baseUrl} at ${ctx.now().toISOString()}: if you read this, alerts reach you.`;
  if (ch.telegram) {
    try {
      const res = await request(`${ch.telegram.apiUrl}/bot${ch.telegram.token}/sendMessage`, {
        method: 'POST',
        timeoutMs: ctx.timeoutMs,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ chat_id: ch.telegram.chatId, text }),
      });
      const body = safeJson(res.body) as { ok?: boolean; description?: string };
      out.push(
        body.ok
          ? s.pass('test alert (Telegram)', `delivered to chat ${ch.telegram.chatId}`)
          : s.fail(
              'test alert (Telegram)',
              `sendMessage refused: ${res.status} ${body.description ?? ''}`.trim(),
              'check ALERT_TELEGRAM_CHAT_ID and that the bot is a member of that chat',
            ),
      );
    } catch (err) {
      out.push(
        s.fail(
          'test alert (Telegram)',
          `sendMessage failed: ${(err as Error).message}`,
          'check outbound network access',
        ),
      );
    }
  }
  if (ch.slack) {
    try {
      const res = await request(ch.slack, {
        method: 'POST',
        timeoutMs: ctx.timeoutMs,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ text }),
      });
      out.push(
        res.status === 200
          ? s.pass('test alert (Slack)', 'delivered to the Slack webhook')
          : s.fail(
              'test alert (Slack)',
              `Slack answered ${res.status}`,
              'check ALERT_SLACK_WEBHOOK_URL (it may have been revoked)',
            ),
      );
    } catch (err) {
      out.push(
        s.fail('test alert (Slack)', `webhook failed: ${(err as Error).message}`, 'check outbound network access'),
      );
    }
  }
  return out;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return {};
  }
}
