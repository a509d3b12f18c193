/**
 * The Telegram feature: webhook route (web roles), long poller (worker roles, one replica at a
 * time), the paced sender (every role, for the dispatcher) and `telegram.webhookInfo`.
 * Without a bot token (and outside the sandbox) it contributes nothing.
 */
import type { HealthCheck } from '../../kernel/health.ts';
import type { WadiModule } from '../../kernel/module.ts';
import type { ModuleContext } from '../../platform/context.ts';
import type { ChannelSender, InboundStore } from '../types.ts';
import { safeError, TelegramClient } from './client.ts';
import type { IngestDeps } from './ingest.ts';
import { Pacer } from './pacing.ts';
import { TelegramPoller } from './poller.ts';
import { telegramSender } from './sender.ts';
import { telegramWebhook } from './webhook.ts';
import { type TelegramWebhookInfo, type TelegramWebhookInfoReader, webhookInfoCheck } from './webhook-check.ts';

/** The built channel: its contribution, sender, getWebhookInfo port and /admin/health check. */
export interface TelegramFeature {
  readonly module: WadiModule;
  readonly sender?: ChannelSender;
  readonly webhookInfo?: TelegramWebhookInfoReader;
  readonly dependencyChecks: readonly HealthCheck[];
}

/** Builds the feature from the context and the inbox writer. */
export function telegramModule(ctx: ModuleContext, deps: { readonly writer: InboundStore }): TelegramFeature {
  const tg = ctx.config.telegram;
  if (!tg) return { module: { name: 'telegram' }, dependencyChecks: [] };
  const logger = ctx.logger.child({ channel: 'telegram' });
  const client = new TelegramClient({
    token: tg.botToken,
    apiRoot: tg.apiUrl ?? (() => `${ctx.localBaseUrl()}/sandbox/telegram`),
    logger,
  });
  const pacer = new Pacer({ redis: ctx.redis, logger });
  const sender = telegramSender({ client, pacer, logger });
  const webhookInfo = async (): Promise<TelegramWebhookInfo> => {
    const info = await client.get().getWebhookInfo();
    return {
      url: info.url ?? '',
      pendingUpdateCount: info.pending_update_count,
      lastErrorDate: info.last_error_date,
      lastErrorMessage: info.last_error_message,
    };
  };
  const dependencyChecks = [webhookInfoCheck(webhookInfo, tg.mode)];

  const ingest: IngestDeps = {
    database: ctx.database,
    writer: () => deps.writer,
    bot: () => client.bot(),
    groupReply: tg.groupReply,
    logger,
    async answerCallback(id) {
      try {
        await client.get().answerCallbackQuery(id);
      } catch (err) {
        logger.debug({ err: safeError(err) }, 'answerCallbackQuery failed');
      }
    },
  };

  // In the sandbox the fake Bot API lives in the web server, so only a process serving both polls.
  const pollHere = tg.mode === 'polling' && ctx.role !== 'web' && (tg.apiUrl !== undefined || ctx.role === 'all');
  const poller = pollHere ? new TelegramPoller({ client, database: ctx.database, ingest, logger }) : undefined;
  if (ctx.role !== 'worker' && tg.mode === 'webhook' && !tg.webhookSecret) {
    logger.warn('TELEGRAM_WEBHOOK_SECRET is not set: POST /webhooks/telegram refuses every request');
  }

  const module: WadiModule = {
    name: 'telegram',
    plugins: ctx.role !== 'worker' ? [telegramWebhook({ ...ingest, secret: tg.webhookSecret })] : [],
    services: poller ? [poller] : [],
    checks: poller ? [poller.check] : [],
    async afterListen() {
      // Cache the bot's identity now (mentions, /cmd@bot); failures are retried on demand.
      if (ctx.role !== 'worker' || poller) await client.bot();
    },
  };
  return { module, sender, webhookInfo, dependencyChecks };
}
