/** Webhooks: Telegram's view of our webhook (getWebhookInfo) and the WhatsApp verification handshake. */
import { randomBytes } from 'node:crypto';
import { request } from './http.ts';
import type { CheckResult, PreflightContext } from './types.ts';
import { section } from './types.ts';

const s = section('Webhooks');
/** Telegram errors more recent than this fail the check. */
export const RECENT_ERROR_SECONDS = 24 * 3600;

/** The Webhooks section. */
export async function webhookChecks(ctx: PreflightContext): Promise<CheckResult[]> {
  return [...(await telegramCheck(ctx)), ...(await whatsappCheck(ctx))];
}

interface WebhookInfoAnswer {
  ok: boolean;
  description?: string;
  result?: { url?: string; pending_update_count?: number; last_error_date?: number; last_error_message?: string };
}

async function telegramCheck(ctx: PreflightContext): Promise<CheckResult[]> {
  const tg = ctx.config?.telegram;
  if (!tg) return [s.warn('Telegram', 'not configured', 'ignore if WADI runs on WhatsApp only')];
  if (!tg.apiUrl) {
    return [
      s.warn(
        'Telegram',
        'sandbox: the fake Bot API is in use, there is no real webhook to check',
        'set TELEGRAM_BOT_TOKEN and turn the sandbox off',
      ),
    ];
  }
  if (tg.mode === 'polling') {
    return [
      s.warn(
        'Telegram',
        'TELEGRAM_MODE=polling: no webhook (one replica only)',
        'set TELEGRAM_MODE=webhook for production',
      ),
    ];
  }
  const publicUrl = ctx.opts.env.PUBLIC_URL?.trim().replace(/\/+$/, '');
  const expected = publicUrl ? `${publicUrl}/webhooks/telegram` : undefined;
  let info: WebhookInfoAnswer;
  try {
    // The token is in the path; request() never puts the URL into its error messages.
    const res = await request(`${tg.apiUrl.replace(/\/+$/, '')}/bot${tg.botToken}/getWebhookInfo`, {
      timeoutMs: ctx.timeoutMs,
    });
    info = JSON.parse(res.body) as WebhookInfoAnswer;
    if (!info.ok) {
      return [
        s.fail(
          'Telegram webhook',
          `getWebhookInfo refused: ${res.status} ${info.description ?? ''}`.trim(),
          'check TELEGRAM_BOT_TOKEN with @BotFather',
        ),
      ];
    }
  } catch (err) {
    return [
      s.fail(
        'Telegram webhook',
        `getWebhookInfo failed: ${(err as Error).message}`,
        'check TELEGRAM_API_URL and outbound network access',
      ),
    ];
  }
  const r = info.result ?? {};
  const out: CheckResult[] = [];
  if (!r.url) out.push(s.fail('Telegram webhook', 'no webhook is set', 'run `wadi telegram set-webhook`'));
  else if (expected && r.url !== expected) {
    out.push(s.fail('Telegram webhook', `points at ${r.url}, expected ${expected}`, 'run `wadi telegram set-webhook`'));
  } else out.push(s.pass('Telegram webhook', `points at ${r.url} (${r.pending_update_count ?? 0} pending)`));
  const age = r.last_error_date ? ctx.now().getTime() / 1000 - r.last_error_date : undefined;
  if (age !== undefined && age < RECENT_ERROR_SECONDS) {
    out.push(
      s.fail(
        'Telegram delivery',
        `Telegram reported an error ${Math.max(0, Math.round(age / 60))} min ago: ${r.last_error_message ?? 'unknown'}`,
        'check that PUBLIC_URL is reachable from the internet with a valid certificate and the secret matches',
      ),
    );
  } else out.push(s.pass('Telegram delivery', age === undefined ? 'no error reported' : 'no error in the last 24 h'));
  return out;
}

async function whatsappCheck(ctx: PreflightContext): Promise<CheckResult[]> {
  const wa = ctx.config?.whatsapp;
  if (!wa) return [s.warn('WhatsApp handshake', 'WhatsApp is not configured', 'ignore if WADI runs on Telegram only')];
  const challenge = randomBytes(8).readBigUInt64BE().toString();
  const url = (token: string) =>
    `${ctx.baseUrl}/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=${encodeURIComponent(token)}&hub.challenge=${challenge}`;
  try {
    const good = await request(url(wa.verifyToken), { timeoutMs: ctx.timeoutMs, ca: ctx.opts.ca });
    const bad = await request(url(`wrong-${randomBytes(8).toString('hex')}`), {
      timeoutMs: ctx.timeoutMs,
      ca: ctx.opts.ca,
    });
    if (good.status === 404) {
      return [
        s.fail(
          'WhatsApp handshake',
          'GET /webhooks/whatsapp answered 404: the route is not mounted',
          'run a WADI with WhatsApp configured',
        ),
      ];
    }
    const problems: string[] = [];
    if (good.status !== 200 || good.body !== challenge) {
      problems.push(`the configured token got ${good.status}${good.status === 200 ? ' without the challenge' : ''}`);
    }
    if (bad.status !== 403) problems.push(`a wrong token got ${bad.status} instead of 403`);
    return problems.length === 0
      ? [s.pass('WhatsApp handshake', 'echoes the challenge for the verify token, 403 for a wrong one')]
      : [s.fail('WhatsApp handshake', problems.join('; '), 'make the deployment run with this WHATSAPP_VERIFY_TOKEN')];
  } catch (err) {
    return [
      s.fail('WhatsApp handshake', `request failed: ${(err as Error).message}`, 'check the deployment is reachable'),
    ];
  }
}
