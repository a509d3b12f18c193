/** `wadi sandbox [--port N]`: the fake Graph API, Bot API and OpenAI-compatible API, standalone. */
import type { Command } from 'commander';
import { CliError, configOrExit, parsePort } from './common.ts';

/** Registers the command. */
export function registerSandbox(program: Command): void {
  program
    .command('sandbox')
    .description('run the fake WhatsApp Graph API, Telegram Bot API and OpenAI-compatible API on their own')
    .option('--port <port>', 'listen port', '3100')
    .option('--host <host>', 'listen address', '127.0.0.1')
    .option('--llm-median-ms <ms>', 'fake LLM: log-normal latency with this median (default: instant)')
    .option('--llm-p95-ms <ms>', 'fake LLM: 95th percentile of the latency (default: 4 × median)')
    .option('--llm-tokens-per-second <n>', 'fake LLM: add the completion tokens at this rate')
    .option('--whatsapp-access-token <token>', 'the Graph API token the fake accepts (default: the built-in one)')
    .option('--whatsapp-phone-number-id <id>', 'the phone number id the fake serves (default: the built-in one)')
    .option('--telegram-bot-token <token>', 'the bot token the fake Bot API accepts (default: the built-in one)')
    .option(
      '--whatsapp-webhook-url <url>',
      "report accepted sends as sent → delivered → read to this WhatsApp webhook (WADI's /webhooks/whatsapp)",
    )
    .option(
      '--whatsapp-app-secret <secret>',
      'sign those status webhooks with this app secret (default: the built-in one)',
    )
    .action(
      async (opts: {
        port: string;
        host: string;
        llmMedianMs?: string;
        llmP95Ms?: string;
        llmTokensPerSecond?: string;
        whatsappAccessToken?: string;
        whatsappPhoneNumberId?: string;
        telegramBotToken?: string;
        whatsappWebhookUrl?: string;
        whatsappAppSecret?: string;
      }) => {
        const config = configOrExit();
        if (config.production) throw new Error('the sandbox cannot run in production');
        const port = parsePort(opts.port);
        const webhookUrl = opts.whatsappWebhookUrl;
        if (webhookUrl !== undefined && !/^https?:\/\/[^\s]+$/.test(webhookUrl)) {
          throw new CliError(`--whatsapp-webhook-url must be an http(s) URL, got ${JSON.stringify(webhookUrl)}`);
        }
        const [
          { default: Fastify },
          { sandboxPlugin },
          { SandboxState },
          { latencyFromBody, latencySchema },
          { DeliveryReports },
          { SANDBOX_CREDENTIALS },
        ] = await Promise.all([
          import('fastify'),
          import('../sandbox/module.ts'),
          import('../sandbox/state.ts'),
          import('../sandbox/latency.ts'),
          import('../sandbox/delivery-reports.ts'),
          import('../config/config.ts'),
        ]);
        const state = new SandboxState();
        // Standing in for Meta and Telegram in front of a WADI with its own credentials: accept those.
        if (opts.whatsappAccessToken) state.credentials.whatsappAccessToken = opts.whatsappAccessToken;
        if (opts.whatsappPhoneNumberId) state.credentials.whatsappPhoneNumberId = opts.whatsappPhoneNumberId;
        if (opts.telegramBotToken) state.credentials.telegramBotToken = opts.telegramBotToken;
        if (webhookUrl !== undefined) {
          state.deliveryReports = new DeliveryReports({
            target: {
              url: () => webhookUrl,
              appSecret: opts.whatsappAppSecret ?? SANDBOX_CREDENTIALS.whatsappAppSecret,
            },
            onError: (status, err) => process.stderr.write(`sandbox: ${status} status webhook failed: ${err}\n`),
          });
        }
        if (opts.llmMedianMs !== undefined) {
          const median = Number(opts.llmMedianMs);
          const parsed = latencySchema.safeParse({
            mode: 'lognormal',
            median_ms: median,
            p95_ms: opts.llmP95Ms === undefined ? median * 4 : Number(opts.llmP95Ms),
            tokens_per_second: opts.llmTokensPerSecond === undefined ? 0 : Number(opts.llmTokensPerSecond),
          });
          if (!parsed.success) throw new CliError(`invalid fake LLM latency: ${parsed.error.issues[0]?.message}`);
          state.llmLatency = latencyFromBody(parsed.data);
        }
        const app = Fastify({ bodyLimit: 5 * 1024 * 1024 });
        await app.register(sandboxPlugin(state));
        const stop = async () => {
          await state.deliveryReports?.stop();
          await app.close();
          process.exit(0);
        };
        process.once('SIGTERM', stop);
        process.once('SIGINT', stop);
        await app.listen({ port, host: opts.host });
        const base = `http://${opts.host}:${(app.server.address() as { port: number }).port}`;
        process.stdout.write(
          [
            `sandbox listening at ${base}`,
            `  WhatsApp Graph API:  ${base}/sandbox/graph`,
            `  Telegram Bot API:    ${base}/sandbox/telegram`,
            `  OpenAI-compatible:   ${base}/sandbox/openai/v1`,
            `  calls received:      ${base}/sandbox/outbox`,
            `  delivery statuses:   ${webhookUrl ? `sent → delivered → read to ${webhookUrl}` : 'none (--whatsapp-webhook-url)'}`,
            `  point WADI at it with WADI_SANDBOX_URL=${base}`,
            `  fake LLM latency:    ${state.llmLatency.mode === 'instant' ? 'instant' : `log-normal, median ${state.llmLatency.medianMs} ms, p95 ${state.llmLatency.p95Ms} ms`} (PUT ${base}/sandbox/llm/latency)`,
            '',
          ].join('\n'),
        );
      },
    );
}
