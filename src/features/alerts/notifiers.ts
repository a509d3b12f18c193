/**
 * Where alert notifications go: a Telegram chat (Bot API sendMessage over plain fetch) and a Slack
 * incoming webhook. Errors carry a stable code and the HTTP status only: the Telegram URL holds
 * the bot token and the Slack URL is itself a secret, so neither ever reaches a log or message.
 */
import os from 'node:os';
import type { Env } from '../../config/schema.ts';

/** One notification: an alert firing (possibly again), or resolved. */
export interface Notification {
  readonly alert: string;
  readonly kind: 'firing' | 'repeat' | 'resolved';
  readonly value?: string;
  readonly threshold?: string;
  readonly summary?: string;
  readonly startedAt: Date;
  readonly resolvedAt?: Date;
  readonly runbook: string;
  /** Which host noticed (several replicas, or the external prober). */
  readonly source?: string;
}

/** A notification channel. */
export interface Notifier {
  readonly name: string;
  /** Resolves once the receiver accepted it; throws NotifyError otherwise. */
  send(n: Notification): Promise<void>;
  /** Sends a plain text that is not an alert (e.g. a handoff for on-call); throws NotifyError. */
  sendText?(text: string): Promise<void>;
}

/** A notification the receiver did not accept (network error, timeout, non-2xx). */
export class NotifyError extends Error {
  readonly code: 'network' | 'rejected';
  readonly status?: number;
  constructor(notifier: string, code: 'network' | 'rejected', detail: string, status?: number) {
    super(`${notifier} notification failed: ${detail}`);
    this.name = 'NotifyError';
    this.code = code;
    this.status = status;
  }
}

const TIMEOUT_MS = 10_000;

function when(d: Date): string {
  return `${d.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

function duration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  return `${Math.round(s / 360) / 10} h`;
}

/** The readable text both notifiers send. */
export function formatNotification(n: Notification): string {
  const head =
    n.kind === 'resolved'
      ? `✅ RESOLVED: ${n.alert}`
      : `🔥 ${n.kind === 'repeat' ? 'STILL FIRING' : 'FIRING'}: ${n.alert}`;
  const lines = [head];
  if (n.summary) lines.push(n.summary);
  if (n.value) lines.push(`${n.kind === 'resolved' ? 'Last value' : 'Value'}: ${n.value}`);
  if (n.threshold) lines.push(`Threshold: ${n.threshold}`);
  lines.push(`Started: ${when(n.startedAt)}`);
  if (n.resolvedAt)
    lines.push(`Resolved: ${when(n.resolvedAt)} (after ${duration(n.resolvedAt.getTime() - n.startedAt.getTime())})`);
  lines.push(`Host: ${n.source ?? os.hostname()}`);
  lines.push(`Runbook: ${n.runbook}`);
  return lines.join('\n');
}

async function post(name: string, url: string, body: unknown): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
  } catch (err) {
    // The cause is e.g. ECONNREFUSED or a timeout; undici messages do not include the URL.
    const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name;
    throw new NotifyError(name, 'network', cause);
  }
  if (!res.ok) {
    await res.body?.cancel().catch(() => {});
    throw new NotifyError(name, 'rejected', `HTTP ${res.status}`, res.status);
  }
  return res;
}

/** Sends to a Telegram chat through the Bot API. */
export function telegramNotifier(opts: { apiUrl: string; token: string; chatId: string }): Notifier {
  const url = `${opts.apiUrl.replace(/\/+$/, '')}/bot${opts.token}/sendMessage`;
  const sendText = async (text: string) => {
    const res = await post('telegram', url, {
      chat_id: opts.chatId,
      text,
      link_preview_options: { is_disabled: true },
    });
    const json = (await res.json().catch(() => ({}))) as { ok?: boolean; error_code?: number };
    if (json.ok === false) throw new NotifyError('telegram', 'rejected', `Bot API error ${json.error_code ?? '?'}`);
  };
  return { name: 'telegram', send: (n) => sendText(formatNotification(n)), sendText };
}

/** Posts to a Slack incoming webhook. */
export function slackNotifier(webhookUrl: string): Notifier {
  const sendText = async (text: string) => {
    const res = await post('slack', webhookUrl, { text });
    await res.body?.cancel().catch(() => {});
  };
  return { name: 'slack', send: (n) => sendText(formatNotification(n)), sendText };
}

/** The notifiers the environment configures (none when no ALERT_* destination is set). */
export function notifiersFromEnv(
  env: Pick<
    Env,
    | 'ALERT_TELEGRAM_CHAT_ID'
    | 'ALERT_TELEGRAM_BOT_TOKEN'
    | 'TELEGRAM_BOT_TOKEN'
    | 'TELEGRAM_API_URL'
    | 'ALERT_SLACK_WEBHOOK_URL'
  >,
): Notifier[] {
  const out: Notifier[] = [];
  const token = env.ALERT_TELEGRAM_BOT_TOKEN ?? env.TELEGRAM_BOT_TOKEN;
  if (env.ALERT_TELEGRAM_CHAT_ID && token) {
    out.push(telegramNotifier({ apiUrl: env.TELEGRAM_API_URL, token, chatId: env.ALERT_TELEGRAM_CHAT_ID }));
  }
  if (env.ALERT_SLACK_WEBHOOK_URL) out.push(slackNotifier(env.ALERT_SLACK_WEBHOOK_URL));
  return out;
}

/** The configured destinations that take plain texts too (on-call hears about handoffs there). */
export function onCallChannels(
  env: Parameters<typeof notifiersFromEnv>[0],
): { readonly name: string; sendText(text: string): Promise<void> }[] {
  return notifiersFromEnv(env).flatMap((n) => {
    const sendText = n.sendText;
    return sendText ? [{ name: n.name, sendText: (text: string) => sendText(text) }] : [];
  });
}

/** Where an alert's runbook section lives: `docs/operations.md#alert-<name>`. */
export function runbookLink(alert: string, base?: string): string {
  const path = `docs/operations.md#alert-${alert.toLowerCase()}`;
  return base ? `${base.replace(/\/+$/, '')}/${path}` : path;
}

/**
 * Notifications kept in memory until every notifier accepted them, for the paths that cannot use
 * `alert_events` (the database is down, or `wadi watch` runs without one). A notifier that fails
 * is retried on the next `flush`; one that succeeded is not asked again.
 */
export class PendingNotifications {
  private readonly notifiers: readonly Notifier[];
  private readonly pending: { n: Notification; done: Set<string> }[] = [];

  constructor(notifiers: readonly Notifier[]) {
    this.notifiers = notifiers;
  }

  /** Queues `n` for every notifier. */
  push(n: Notification): void {
    this.pending.push({ n, done: new Set() });
  }

  /** Tries each notifier that has not yet accepted each queued notification; never throws. */
  async flush(onError: (notifier: string, err: Error) => void): Promise<void> {
    for (const p of [...this.pending]) {
      for (const notifier of this.notifiers) {
        if (p.done.has(notifier.name)) continue;
        try {
          await notifier.send(p.n);
          p.done.add(notifier.name);
        } catch (err) {
          onError(notifier.name, err as Error);
        }
      }
      if (this.notifiers.every((x) => p.done.has(x.name))) this.pending.splice(this.pending.indexOf(p), 1);
    }
  }

  /** Notifications not yet accepted by every notifier. */
  get size(): number {
    return this.pending.length;
  }
}
