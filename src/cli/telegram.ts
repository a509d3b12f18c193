/**
 * `wadi telegram set-webhook | delete-webhook | info`: manage the bot's webhook. The bot token
 * only ever sits inside grammY's request URL, which is never printed; errors show Telegram's
 * description, not the request.
 */
import type { Command } from 'commander';
import type { Api } from 'grammy';
import { ALLOWED_UPDATES } from '../channels/telegram/update-types.ts';
import type { Config } from '../config/config.ts';
import { CliError, configOrExit } from './common.ts';

/** Ports the Bot API accepts for webhooks. */
export const WEBHOOK_PORTS = [443, 80, 88, 8443] as const;

/**
 * The webhook URL for `publicUrl`, or a CliError saying why Telegram would refuse it: it must be
 * https and on port 443, 80, 88 or 8443.
 */
export function webhookUrl(publicUrl: string | undefined): string {
  if (!publicUrl) throw new CliError('PUBLIC_URL is not set: Telegram needs the public https address of this WADI');
  let u: URL;
  try {
    u = new URL(publicUrl);
  } catch {
    throw new CliError(`PUBLIC_URL "${publicUrl}" is not a URL`);
  }
  if (u.protocol !== 'https:') {
    throw new CliError(`PUBLIC_URL must use https:// (Telegram refuses plain HTTP webhooks), got ${u.protocol}//`);
  }
  const port = u.port === '' ? 443 : Number(u.port);
  if (!(WEBHOOK_PORTS as readonly number[]).includes(port)) {
    throw new CliError(`PUBLIC_URL uses port ${port}; Telegram only delivers webhooks to ports 443, 80, 88 or 8443`);
  }
  return `${u.origin}${u.pathname.replace(/\/+$/, '')}/webhooks/telegram`;
}

// grammY is loaded only when a telegram command runs, so other commands start faster.
async function apiFor(config: Config, sandboxUrl?: string): Promise<Api> {
  const { Api } = await import('grammy');
  const tg = config.telegram;
  if (!tg) throw new CliError('TELEGRAM_BOT_TOKEN is not set');
  const root =
    tg.apiUrl ?? `${(sandboxUrl ?? `http://127.0.0.1:${config.env.PORT}`).replace(/\/+$/, '')}/sandbox/telegram`;
  const api = new Api(tg.botToken, { apiRoot: root.replace(/\/+$/, ''), timeoutSeconds: 30 });
  // Admin calls may wait out a short 429 or 5xx themselves; sends never do (the dispatcher retries).
  const { autoRetry } = await import('@grammyjs/auto-retry');
  api.config.use(autoRetry({ maxRetryAttempts: 3, maxDelaySeconds: 10, rethrowHttpErrors: true }));
  return api;
}

async function call<T>(what: string, fn: () => Promise<T>): Promise<T> {
  const { GrammyError } = await import('grammy');
  try {
    return await fn();
  } catch (err) {
    if (err instanceof GrammyError) throw new CliError(`${what} failed: ${err.description} (${err.error_code})`);
    // Network errors from grammY may embed the URL (and so the token): say only what failed.
    throw new CliError(`${what} failed: the Bot API could not be reached`);
  }
}

/** Readable lines for getWebhookInfo. */
export function formatWebhookInfo(info: {
  url?: string;
  pending_update_count: number;
  last_error_date?: number;
  last_error_message?: string;
  max_connections?: number;
  allowed_updates?: readonly string[];
}): string {
  const lines = [
    `  URL:              ${info.url || '(none: the bot uses getUpdates / long polling)'}`,
    `  Pending updates:  ${info.pending_update_count}`,
  ];
  if (info.max_connections !== undefined) lines.push(`  Max connections:  ${info.max_connections}`);
  if (info.allowed_updates) lines.push(`  Allowed updates:  ${info.allowed_updates.join(', ') || '(all)'}`);
  lines.push(
    info.last_error_date
      ? `  Last error:       ${new Date(info.last_error_date * 1000).toISOString()}: ${info.last_error_message ?? '(no message)'}`
      : '  Last error:       none',
  );
  return `${lines.join('\n')}\n`;
}

/** Registers `wadi telegram …`. */
export function registerTelegram(program: Command): void {
  const tg = program.command('telegram').description("manage the Telegram bot's webhook");
  const sandboxOpt = [
    '--url <url>',
    'in sandbox mode: base URL of the running WADI whose fake Bot API to use',
  ] as const;
  tg.command('set-webhook')
    .description('register PUBLIC_URL/webhooks/telegram with the secret token and allowed updates')
    .option('--max-connections <n>', 'simultaneous webhook connections Telegram may open (1-100)', '40')
    .option('--drop-pending', 'drop updates waiting at Telegram')
    .option(...sandboxOpt)
    .action(async (opts: { maxConnections: string; dropPending?: boolean; url?: string }) => {
      const config = configOrExit();
      const url = webhookUrl(config.env.PUBLIC_URL);
      const max = Number(opts.maxConnections);
      if (!Number.isInteger(max) || max < 1 || max > 100) throw new CliError('--max-connections must be 1-100');
      const secret = config.telegram?.webhookSecret;
      if (!secret) throw new CliError('TELEGRAM_WEBHOOK_SECRET is not set: WADI refuses webhooks without it');
      const api = await apiFor(config, opts.url);
      await call('setWebhook', () =>
        api.setWebhook(url, {
          secret_token: secret,
          allowed_updates: [...ALLOWED_UPDATES],
          max_connections: max,
          drop_pending_updates: opts.dropPending ?? false,
        }),
      );
      process.stdout.write(
        `webhook set: ${url}\n  allowed updates: ${ALLOWED_UPDATES.join(', ')}; max connections: ${max}\n`,
      );
    });
  tg.command('delete-webhook')
    .description('remove the webhook (needed before long polling)')
    .option('--drop-pending', 'also drop updates waiting at Telegram')
    .option(...sandboxOpt)
    .action(async (opts: { dropPending?: boolean; url?: string }) => {
      const api = await apiFor(configOrExit(), opts.url);
      await call('deleteWebhook', () => api.deleteWebhook({ drop_pending_updates: opts.dropPending ?? false }));
      process.stdout.write(`webhook deleted${opts.dropPending ? ' (pending updates dropped)' : ''}\n`);
    });
  tg.command('info')
    .description("show Telegram's view of the webhook: URL, pending updates, last error")
    .option(...sandboxOpt)
    .action(async (opts: { url?: string }) => {
      const api = await apiFor(configOrExit(), opts.url);
      const info = await call('getWebhookInfo', () => api.getWebhookInfo());
      process.stdout.write(formatWebhookInfo(info));
    });
  tg.action(() => {
    throw new CliError('missing subcommand: try "wadi telegram info"');
  });
}
