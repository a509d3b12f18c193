/**
 * The Telegram dependency check for /admin/health: getWebhookInfo with its latency. In webhook
 * mode a recent delivery error or a growing backlog is a warning (Telegram is failing to reach
 * us); an unreachable Bot API or a refused token fails.
 */
import type { CheckResult, HealthCheck } from '../../observability/health/health.ts';
import { safeError } from './client.ts';

/** Telegram's view of our webhook (getWebhookInfo), for the TelegramWebhookErrors alert and preflight. */
export interface TelegramWebhookInfo {
  readonly url: string;
  readonly pendingUpdateCount: number;
  readonly lastErrorDate?: number;
  readonly lastErrorMessage?: string;
}

/** Fetches getWebhookInfo from the Bot API. */
export type TelegramWebhookInfoReader = () => Promise<TelegramWebhookInfo>;

/** Errors younger than this count as current. */
const RECENT_ERROR_S = 15 * 60;
const BACKLOG_WARN = 100;

/** Builds the check from the shared getWebhookInfo function. */
export function webhookInfoCheck(
  info: () => Promise<TelegramWebhookInfo>,
  mode: 'webhook' | 'polling',
  now: () => number = Date.now,
): HealthCheck {
  return {
    name: 'telegram:webhook',
    componentType: 'component',
    async run(): Promise<CheckResult> {
      const start = performance.now();
      let i: TelegramWebhookInfo;
      try {
        i = await info();
      } catch (err) {
        const e = safeError(err);
        return { status: 'fail', output: `getWebhookInfo failed: ${e.description ?? e.name}` };
      }
      const ms = Math.round(performance.now() - start);
      const base = { observedValue: ms, observedUnit: 'ms' };
      if (mode === 'polling') {
        return i.url
          ? { ...base, status: 'warn', output: 'a webhook is set while WADI polls: getUpdates gets 409' }
          : { ...base, status: 'pass', output: `polling; ${i.pendingUpdateCount} pending` };
      }
      if (!i.url) return { ...base, status: 'warn', output: 'no webhook registered (run wadi telegram set-webhook)' };
      const recent = i.lastErrorDate !== undefined && now() / 1000 - i.lastErrorDate < RECENT_ERROR_S;
      if (recent) return { ...base, status: 'warn', output: `last delivery error: ${i.lastErrorMessage ?? 'unknown'}` };
      if (i.pendingUpdateCount > BACKLOG_WARN) {
        return { ...base, status: 'warn', output: `${i.pendingUpdateCount} updates waiting at Telegram` };
      }
      return { ...base, status: 'pass', output: `${i.pendingUpdateCount} pending` };
    },
  };
}
