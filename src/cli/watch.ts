/** `wadi watch --url URL [--interval S] [--for S]`: the external readiness prober. */
import type { Command } from 'commander';
import { readEnvironment } from '../config/environment.ts';
import { envSchema } from '../config/schema.ts';
import { CliError } from './common.ts';

function seconds(name: string, v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0)
    throw new CliError(`invalid ${name} "${v}": expected a positive number of seconds`);
  return n;
}

/** Registers the command. */
export function registerWatch(program: Command): void {
  program
    .command('watch')
    .description('probe a WADI from outside and alert (Telegram/Slack) when /health/ready fails')
    .requiredOption('--url <url>', "WADI's base URL, e.g. https://wadi.example.com")
    .option('--interval <seconds>', 'seconds between probes', '10')
    .option('--for <seconds>', 'alert after this many seconds of failure (default ALERT_HEALTH_FAILING_SECONDS)')
    .action(async (opts: { url: string; interval: string; for?: string }) => {
      let url: URL;
      try {
        url = new URL(opts.url);
        if (!/^https?:$/.test(url.protocol)) throw new Error('not http(s)');
      } catch {
        throw new CliError(`invalid --url "${opts.url}": expected an http(s) URL`);
      }
      const interval = seconds('--interval', opts.interval);
      // Only the ALERT_* part of the environment matters here, and the prober usually runs on a
      // machine without WADI's secrets: validate the variables without the start-up rules.
      const parsed = envSchema.safeParse(readEnvironment());
      if (!parsed.success) {
        throw new CliError(
          `configuration is invalid:\n${parsed.error.issues.map((i) => `  ✗ ${String(i.path[0])}: ${i.message}`).join('\n')}`,
        );
      }
      const env = parsed.data;
      const forSeconds = opts.for ? seconds('--for', opts.for) : env.ALERT_HEALTH_FAILING_SECONDS;
      const [{ notifiersFromEnv }, { Prober }] = await Promise.all([
        import('../features/alerts/notifiers.ts'),
        import('../features/alerts/prober.ts'),
      ]);
      const notifiers = notifiersFromEnv(env);
      const log = (line: string) => process.stdout.write(`${new Date().toISOString()} ${line}\n`);
      if (notifiers.length === 0) {
        log('no notifier configured (ALERT_TELEGRAM_CHAT_ID / ALERT_SLACK_WEBHOOK_URL): printing only');
      }
      const prober = new Prober({
        url: url.toString(),
        forSeconds,
        repeatSeconds: env.ALERT_REPEAT_SECONDS,
        notifiers,
        runbookBase: env.ALERT_RUNBOOK_BASE_URL,
        timeoutMs: Math.min(5000, interval * 1000),
        log,
      });
      log(
        `watching ${url.origin}${url.pathname.replace(/\/+$/, '')}/health/ready every ${interval} s (alert after ${forSeconds} s)`,
      );
      await new Promise<void>((resolve) => {
        let timer: NodeJS.Timeout | undefined;
        let stopping = false;
        const loop = async () => {
          await prober.poll();
          if (!stopping) timer = setTimeout(loop, interval * 1000);
        };
        const stop = () => {
          if (stopping) return;
          stopping = true;
          clearTimeout(timer);
          log('stopping');
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          resolve();
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
        void loop();
      });
    });
}
