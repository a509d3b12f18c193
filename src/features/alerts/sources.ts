/**
 * The real sample sources behind the rules: readiness, the windowed request stats, CPU and memory
 * against the container limits, SQL over the inbox/outbox/kv tables (timestamps passed in, so a
 * fake clock drives them too), and the ports other features provide (assistant status, Telegram webhook info).
 */
import type { AssistantStatus } from '../../assistant/breaker.ts';
import type { TelegramWebhookInfoReader } from '../../channels/telegram/webhook-check.ts';
import type { Database } from '../../db/client.ts';
import { inboxBacklog, oldestPendingSeconds } from '../../inbox/backlog.ts';
import type { Health } from '../../observability/health/health.ts';
import { CpuSampler, memoryPercent, type ResourceLimits } from '../../observability/metrics/resources.ts';
import type { WindowedStats } from '../../observability/metrics/window-stats.ts';
import type { ModuleContext } from '../../platform/context.ts';
import { lastBackupSuccess } from '../backup/last-success.ts';
import type { AlertSources } from './rules.ts';
import { WebhookCounterWindow } from './webhook-window.ts';

// getWebhookInfo is a call to Telegram: once a minute is plenty for a 10-minute condition.
const WEBHOOK_INFO_EVERY_MS = 60_000;

/** Outbox rows that reached a final state (the denominator of OutboundFailures). */
const FINISHED = `status in ('sent', 'delivered', 'read', 'failed')`;

/** SQL-backed samples, usable on their own in tests. */
export function databaseSources(database: Database): Pick<AlertSources, 'oldestPendingInboxSeconds' | 'outbound'> & {
  backupRecorded(): Promise<number | undefined>;
} {
  // OutboundFailures and WhatsAppTokenInvalid read the same window in one round: one query serves both.
  let outboundLast:
    | { sinceMs: number; result: Promise<{ total: number; failed: number; tokenInvalid: number }> }
    | undefined;
  const outbound = async (sinceMs: number) => {
    const { rows } = await database.query<{
      total: number | string;
      failed: number | string;
      token: number | string;
    }>(
      `select count(*) filter (where ${FINISHED}) as total,
                count(*) filter (where status = 'failed') as failed,
                count(*) filter (where status = 'failed' and error_code = '190') as token
           from outbox_messages
          where coalesce(failed_at, sent_at, created_at) >= $1`,
      [new Date(sinceMs).toISOString()],
    );
    const r = rows[0];
    return { total: Number(r?.total ?? 0), failed: Number(r?.failed ?? 0), tokenInvalid: Number(r?.token ?? 0) };
  };
  return {
    async oldestPendingInboxSeconds(now) {
      return oldestPendingSeconds(await inboxBacklog(database), now);
    },
    outbound(sinceMs) {
      if (outboundLast?.sinceMs !== sinceMs) outboundLast = { sinceMs, result: outbound(sinceMs) };
      return outboundLast.result;
    },
    async backupRecorded() {
      const last = await lastBackupSuccess(database);
      return last ? Date.parse(last.at) : undefined;
    },
  };
}

/** Everything the rules need, from a running WADI. */
export function contextSources(
  ctx: ModuleContext,
  opts: {
    stats: WindowedStats;
    health: Health;
    limits: ResourceLimits;
    startedAt: number;
    /** The LLM breaker (LlmUnavailable). */
    assistant: AssistantStatus;
    /** getWebhookInfo, when Telegram is configured (TelegramWebhookErrors). */
    telegramWebhookInfo: TelegramWebhookInfoReader | undefined;
  },
): AlertSources {
  const db = databaseSources(ctx.database);
  const cpu = new CpuSampler(opts.limits.cpuCores);
  const webhooks = new WebhookCounterWindow();
  let webhook: { at: number; lastErrorDate?: number } | undefined;
  return {
    async ready() {
      // Our own shutdown is not an outage.
      if (opts.health.isShuttingDown) return true;
      return (await opts.health.ready()).status !== 'fail';
    },
    requests: (seconds) => opts.stats.window(seconds),
    webhookEvents: (now, seconds) => webhooks.window(now, seconds),
    cpuPercent: () => cpu.sample(),
    memoryPercent: () => memoryPercent(opts.limits.memoryBytes),
    oldestPendingInboxSeconds: db.oldestPendingInboxSeconds,
    outbound: db.outbound,
    llmBreakerOpen: () => opts.assistant.breakerOpen(),
    async telegramLastErrorDate(now) {
      const info = opts.telegramWebhookInfo;
      if (!info) return undefined;
      if (!webhook || now - webhook.at >= WEBHOOK_INFO_EVERY_MS) {
        try {
          webhook = { at: now, lastErrorDate: (await info()).lastErrorDate };
        } catch (err) {
          // Telegram unreachable says nothing about our webhook: keep the last answer, retry later.
          ctx.logger.debug({ err: (err as Error).message }, 'getWebhookInfo failed for alerting');
          webhook = { at: now, lastErrorDate: webhook?.lastErrorDate };
        }
      }
      return webhook.lastErrorDate;
    },
    async backupLastSuccess() {
      if (!ctx.config.env.BACKUP_SCHEDULE) return undefined;
      // No backup recorded yet: count from when we started watching, so a fresh install is not stale.
      return (await db.backupRecorded()) ?? opts.startedAt;
    },
  };
}
