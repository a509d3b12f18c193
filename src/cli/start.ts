/** `wadi start [--role all|web|worker]`: the HTTP server and/or the workers. */
import { type Command, Option } from 'commander';
import { createWadi } from '../app/wadi.ts';
import type { Role } from '../kernel/module.ts';
import { handleSignals } from '../lifecycle/signals.ts';
import { configOrExit } from './common.ts';

/** Registers the command. */
export function registerStart(program: Command): void {
  program
    .command('start')
    .description('run WADI: HTTP server and workers (default), or one of them')
    .addOption(new Option('--role <role>', 'which part to run').choices(['all', 'web', 'worker']).default('all'))
    .option('--port <port>', 'listen port (overrides PORT)')
    .action(async (opts: { role: Role; port?: string }) => {
      const config = configOrExit(opts.port ? { PORT: opts.port } : {});
      const wadi = await createWadi(config, { role: opts.role });
      handleSignals({ stop: () => wadi.stop(), graceMs: config.env.SHUTDOWN_GRACE_MS, logger: wadi.logger });
      const url = await wadi.start();
      const port = new URL(url).port;
      const host = config.env.HOST === '0.0.0.0' || config.env.HOST === '::' ? 'localhost' : config.env.HOST;
      const base = `http://${host}:${port}`;
      const lines = [
        '',
        `  WADI is running (${opts.role}) at ${base}`,
        `  Dashboard:  ${base}/admin`,
        `  Readiness:  ${base}/health/ready`,
      ];
      if (config.admin.generatedKey) {
        lines.push(`  Admin key:  ${config.admin.keys[0]}  (generated for development; set ADMIN_API_KEY to choose)`);
      }
      if (config.sandbox) {
        lines.push(
          '  Sandbox:    on: fake WhatsApp and Telegram APIs, offline assistant; no message leaves this machine',
        );
      }
      if (config.database.embedded) lines.push(`  Database:   embedded PGlite in ${config.database.dataDir}`);
      process.stdout.write(`${lines.join('\n')}\n\n`);
    });
}
