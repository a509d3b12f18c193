/**
 * The Telegram feature: webhook route (web roles), long poller (worker roles, one replica at a
 * time), the paced sender (every role, for the dispatcher) and `telegram.webhookInfo`.
 * Without a bot token (and outside the sandbox) it contributes nothing.
 */
import type { ModuleFactory } from '../../kernel/module.ts';
import { contribute, lookup, provide, senders, type TelegramWebhookInfo } from '../../app/shared.ts';
import { safeError, TelegramClient } from './client.ts';
import type { IngestDeps } from './ingest.ts';
import { Pacer } from './pacing.ts';
import { TelegramPoller } from './poller.ts';
import { telegramSender } from './sender.ts';
import { telegramWebhook } from './webhook.ts';
import { webhookInfoCheck } from './webhook-check.ts';

/** Builds the feature from the context. */
export const telegramModule: ModuleFactory = (ctx) => {
  const tg = ctx.config.telegram;
  if (!tg) return { name: 'telegram' };
  const logger = ctx.logger.child({ channel: 'telegram' });
  const client = new TelegramClient({
    token: tg.botToken,
    apiRoot: tg.apiUrl ?? (() => `${ctx.localBaseUrl()}/sandbox/telegram`),
    logger,
  });
  const pacer = new Pacer({ redis: ctx.redis, logger });
  senders(ctx).set('telegram', telegramSender({ client, pacer, logger }));
  const webhookInfo = async (): Promise<TelegramWebhookInfo> => {
    const info = await client.get().getWebhookInfo();
    return {
      url: info.url ?? '',
      pendingUpdateCount: info.pending_update_count,
      lastErrorDate: info.last_error_date,
      lastErrorMessage: info.last_error_message,
    };
  };
  provide(ctx, 'telegram.webhookInfo', webhookInfo);
  contribute(ctx, 'admin.dependencyChecks').push(webhookInfoCheck(webhookInfo, tg.mode));

  const ingest: IngestDeps = {
    database: ctx.database,
    writer: () => {
      const w = lookup(ctx, 'inbox.writer');
      if (!w) throw new Error('the inbox module is not running');
      return w;
    },
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

  return {
    name: 'telegram',
    plugins: ctx.role !== 'worker' ? [telegramWebhook({ ...ingest, secret: tg.webhookSecret })] : [],
    services: poller ? [poller] : [],
    checks: poller ? [poller.check] : [],
    async afterListen() {
      // Cache the bot's identity now (mentions, /cmd@bot); failures are retried on demand.
      if (ctx.role !== 'worker' || poller) await client.bot();
    },
  };
};
