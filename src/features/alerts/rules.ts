/**
 * The built-in alert rules. Each reads one sample from `AlertSources` and says whether its
 * condition holds now; the engine adds the `for` duration, state and notifications. A source that
 * returns undefined means the feature behind it is not running here: the rule stays quiet.
 */
import type { Env } from '../../config/schema.ts';
import type { WebhookWindow } from './webhook-window.ts';

/** What a rule saw on one evaluation. */
export interface RuleResult {
  readonly active: boolean;
  /** The observed value, formatted for people ("12.5 %"). */
  readonly value: string;
}

/** One alert rule. */
export interface AlertRule {
  readonly name: string;
  /** How long the condition must hold before the alert fires. */
  readonly forSeconds: number;
  /** The threshold, formatted for people ("> 5 % over 300 s"). */
  readonly threshold: string;
  /** One sentence saying what is wrong when it fires. */
  readonly summary: string;
  /** undefined: no data (the feature is absent or the sample failed): treated as not active. */
  check(now: number): Promise<RuleResult | undefined>;
}

/** Samples the rules read; each may be undefined when its feature is absent. */
export interface AlertSources {
  /** True when readiness passes (or warns); false when it fails. */
  ready(): Promise<boolean>;
  /** Requests and how many were answered 5xx over the window (probe, metrics and sandbox routes excluded). */
  requests(windowSeconds: number): { requests: number; serverErrors: number };
  /** Webhook outcomes per channel over the window ending at `now`. */
  webhookEvents(now: number, windowSeconds: number): Promise<WebhookWindow>;
  /** CPU used since the previous sample, percent of the container's allowance. */
  cpuPercent(): number | null;
  /** Resident memory, percent of the container's allowance. */
  memoryPercent(): number | null;
  /** Age of the oldest inbound message still waiting to be answered; null when none waits. */
  oldestPendingInboxSeconds(now: number): Promise<number | null>;
  /** Outbound sends finished since `sinceMs`: total, failed, and failures with Graph error 190. */
  outbound(sinceMs: number): Promise<{ total: number; failed: number; tokenInvalid: number }>;
  /** The LLM circuit breaker; undefined without an assistant feature. */
  llmBreakerOpen(): boolean | undefined;
  /** Unix seconds of Telegram's last webhook delivery error; undefined when none or unknown. */
  telegramLastErrorDate(now: number): Promise<number | undefined>;
  /**
   * Last successful backup (ms since epoch; when none is recorded yet, when WADI started watching);
   * undefined when backups are not scheduled.
   */
  backupLastSuccess(now: number): Promise<number | undefined>;
}

const pct = (v: number) => `${Math.round(v * 10) / 10} %`;
const secs = (v: number) => `${Math.round(v)} s`;

/** The alert thresholds from the environment (ALERT_*). */
export type AlertEnv = Pick<
  Env,
  | 'ALERT_HEALTH_FAILING_SECONDS'
  | 'ALERT_ERROR_RATE_PERCENT'
  | 'ALERT_ERROR_RATE_WINDOW_SECONDS'
  | 'ALERT_ERROR_RATE_MIN_REQUESTS'
  | 'ALERT_CPU_PERCENT'
  | 'ALERT_MEMORY_PERCENT'
  | 'ALERT_RESOURCE_FOR_SECONDS'
  | 'ALERT_INBOX_BACKLOG_SECONDS'
  | 'ALERT_OUTBOUND_FAILURE_PERCENT'
  | 'ALERT_OUTBOUND_MIN_MESSAGES'
  | 'ALERT_BACKUP_STALE_SECONDS'
  | 'ALERT_SIGNATURE_FAILURES_MIN'
>;

/** Window of the outbound rules, and how recent a Telegram webhook error must be. */
export const OUTBOUND_WINDOW_SECONDS = 15 * 60;
export const TELEGRAM_ERROR_RECENT_SECONDS = 10 * 60;
/** Window of WebhookSignatureInvalid. */
export const SIGNATURE_WINDOW_SECONDS = 15 * 60;
// A breaker that stays open a minute is an outage, not a blip.
const LLM_FOR_SECONDS = 60;
const BACKLOG_FOR_SECONDS = 60;
const ERROR_RATE_FOR_SECONDS = 60;

/** Builds every built-in rule. */
export function buildRules(env: AlertEnv, s: AlertSources): AlertRule[] {
  return [
    {
      name: 'ServiceNotReady',
      forSeconds: env.ALERT_HEALTH_FAILING_SECONDS,
      threshold: `readiness failing for ${env.ALERT_HEALTH_FAILING_SECONDS} s`,
      summary: 'Readiness (/health/ready) is failing: a dependency such as the database is down.',
      async check() {
        const ok = await s.ready();
        return { active: !ok, value: ok ? 'pass' : 'fail' };
      },
    },
    {
      // 5xx and webhook events WADI acknowledged but could not store: failures that are ours. A
      // 404 for /favicon.ico, a wrong admin key or a forged webhook is the client's doing (4xx) and
      // says nothing about whether users are answered; forged or misconfigured signatures have
      // WebhookSignatureInvalid of their own.
      name: 'HighErrorRate',
      forSeconds: ERROR_RATE_FOR_SECONDS,
      threshold: `> ${env.ALERT_ERROR_RATE_PERCENT} % 5xx or unstored webhook events over ${env.ALERT_ERROR_RATE_WINDOW_SECONDS} s (min ${env.ALERT_ERROR_RATE_MIN_REQUESTS} requests)`,
      summary: 'WADI fails requests itself: HTTP 5xx answers or webhook events it could not store.',
      async check(now) {
        const w = s.requests(env.ALERT_ERROR_RATE_WINDOW_SECONDS);
        const hooks = await s.webhookEvents(now, env.ALERT_ERROR_RATE_WINDOW_SECONDS);
        const unstored = Object.values(hooks).reduce((n, c) => n + c.unstorable, 0);
        const failed = w.serverErrors + unstored;
        const rate = w.requests === 0 ? 0 : Math.min(100, (failed / w.requests) * 100);
        return {
          active: w.requests >= env.ALERT_ERROR_RATE_MIN_REQUESTS && rate > env.ALERT_ERROR_RATE_PERCENT,
          value: `${pct(rate)} of ${w.requests} requests (${w.serverErrors} 5xx, ${unstored} webhook events not stored)`,
        };
      },
    },
    {
      // Meta/Telegram deliveries refused for their signature while none passed: the app secret or
      // the webhook secret token WADI has is not the one the platform signs with. Refusals next to
      // verified deliveries are somebody else's forgeries, not a misconfiguration.
      name: 'WebhookSignatureInvalid',
      forSeconds: 0,
      threshold: `>= ${env.ALERT_SIGNATURE_FAILURES_MIN} deliveries refused for their signature in ${SIGNATURE_WINDOW_SECONDS / 60} min, none verified`,
      summary:
        'Webhook deliveries are refused for a wrong signature: WHATSAPP_APP_SECRET or TELEGRAM_WEBHOOK_SECRET does not match the platform.',
      async check(now) {
        const hooks = await s.webhookEvents(now, SIGNATURE_WINDOW_SECONDS);
        const seen = Object.entries(hooks).filter(([, c]) => c.invalidSignature > 0);
        const bad = seen.filter(([, c]) => c.invalidSignature >= env.ALERT_SIGNATURE_FAILURES_MIN && c.verified === 0);
        return {
          active: bad.length > 0,
          value:
            seen.length === 0
              ? 'no refused delivery'
              : seen.map(([ch, c]) => `${ch}: ${c.invalidSignature} refused, ${c.verified} verified`).join('; '),
        };
      },
    },
    {
      name: 'HighCpu',
      forSeconds: env.ALERT_RESOURCE_FOR_SECONDS,
      threshold: `> ${env.ALERT_CPU_PERCENT} % of the CPU allowance`,
      summary: 'The process uses most of the CPU the container may use.',
      async check() {
        const v = s.cpuPercent();
        return v === null ? undefined : { active: v > env.ALERT_CPU_PERCENT, value: pct(v) };
      },
    },
    {
      name: 'HighMemory',
      forSeconds: env.ALERT_RESOURCE_FOR_SECONDS,
      threshold: `> ${env.ALERT_MEMORY_PERCENT} % of the memory limit`,
      summary: 'The process uses most of the memory the container may use.',
      async check() {
        const v = s.memoryPercent();
        return v === null ? undefined : { active: v > env.ALERT_MEMORY_PERCENT, value: pct(v) };
      },
    },
    {
      name: 'InboxBacklog',
      forSeconds: BACKLOG_FOR_SECONDS,
      threshold: `oldest pending message > ${env.ALERT_INBOX_BACKLOG_SECONDS} s old`,
      summary: 'Inbound messages are waiting too long to be answered: workers are stuck, down or overloaded.',
      async check(now) {
        const age = await s.oldestPendingInboxSeconds(now);
        return {
          active: age !== null && age > env.ALERT_INBOX_BACKLOG_SECONDS,
          value: age === null ? 'none pending' : secs(age),
        };
      },
    },
    {
      name: 'OutboundFailures',
      forSeconds: 0,
      threshold: `> ${env.ALERT_OUTBOUND_FAILURE_PERCENT} % failed over 15 min (min ${env.ALERT_OUTBOUND_MIN_MESSAGES} sends)`,
      summary: 'Many replies could not be delivered to WhatsApp/Telegram.',
      async check(now) {
        const o = await s.outbound(now - OUTBOUND_WINDOW_SECONDS * 1000);
        const share = o.total === 0 ? 0 : (o.failed / o.total) * 100;
        return {
          active: o.total >= env.ALERT_OUTBOUND_MIN_MESSAGES && share > env.ALERT_OUTBOUND_FAILURE_PERCENT,
          value: `${pct(share)} (${o.failed} of ${o.total})`,
        };
      },
    },
    {
      name: 'LlmUnavailable',
      forSeconds: LLM_FOR_SECONDS,
      threshold: 'circuit breaker open',
      summary: 'The LLM is failing or too slow: users get the fallback reply.',
      async check() {
        const open = s.llmBreakerOpen();
        return open === undefined ? undefined : { active: open, value: open ? 'breaker open' : 'breaker closed' };
      },
    },
    {
      name: 'TelegramWebhookErrors',
      forSeconds: 0,
      threshold: `a webhook delivery error in the last ${TELEGRAM_ERROR_RECENT_SECONDS / 60} min`,
      summary: 'Telegram reports errors delivering updates to our webhook (getWebhookInfo last_error_date).',
      async check(now) {
        const at = await s.telegramLastErrorDate(now);
        if (at === undefined) return { active: false, value: 'no error reported' };
        const age = now / 1000 - at;
        return { active: age <= TELEGRAM_ERROR_RECENT_SECONDS, value: `last error ${secs(Math.max(0, age))} ago` };
      },
    },
    {
      name: 'WhatsAppTokenInvalid',
      forSeconds: 0,
      threshold: 'any send failing with Graph API error 190 in 15 min',
      summary: 'The WhatsApp access token is expired or revoked (Graph API error 190): no reply can be sent.',
      async check(now) {
        const o = await s.outbound(now - OUTBOUND_WINDOW_SECONDS * 1000);
        return { active: o.tokenInvalid > 0, value: `${o.tokenInvalid} send(s) with error 190` };
      },
    },
    {
      name: 'BackupStale',
      forSeconds: 0,
      threshold: `last successful backup > ${env.ALERT_BACKUP_STALE_SECONDS} s ago`,
      summary: 'Scheduled backups are not succeeding.',
      async check(now) {
        const last = await s.backupLastSuccess(now);
        if (last === undefined) return undefined;
        const age = (now - last) / 1000;
        return { active: age > env.ALERT_BACKUP_STALE_SECONDS, value: `${secs(age)} ago` };
      },
    },
  ];
}
