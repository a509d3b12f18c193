/** `wadi config check`: validate the environment and print the effective config, secrets hidden. */
import type { Command } from 'commander';
import { configSummary, redactedEnv } from '../config/redact.ts';
import { CliError, configOrExit } from './common.ts';

/** Registers the command. */
export function registerConfig(program: Command): void {
  const config = program.command('config').description('configuration tools');
  config
    .command('check')
    .description('validate the environment and print the effective configuration with secrets redacted')
    .option('--json', 'print JSON')
    .action((opts: { json?: boolean }) => {
      const cfg = configOrExit();
      const out = { summary: configSummary(cfg), environment: redactedEnv(cfg) };
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
        return;
      }
      process.stdout.write('configuration is valid\n\n');
      for (const [k, v] of Object.entries(out.summary)) process.stdout.write(`  ${k.padEnd(10)} ${String(v)}\n`);
      process.stdout.write('\neffective environment:\n');
      for (const [k, v] of Object.entries(out.environment)) {
        process.stdout.write(`  ${k}=${Array.isArray(v) ? v.join(',') : String(v)}\n`);
      }
    });
  config.action(() => {
    throw new CliError('missing subcommand: try "wadi config check"');
  });
}
