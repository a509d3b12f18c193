/** `wadi preflight [--url URL] [--json] [--send-test-alert] [--ci]`: the go-live checklist. */
import type { Command } from 'commander';
import { readEnvironment } from '../config/environment.ts';
import { CliError } from './common.ts';

/** Registers the command. */
export function registerPreflight(program: Command): void {
  program
    .command('preflight')
    .description('the go-live checklist, item by item against the running deployment (exit 1 if any item fails)')
    .option('--url <url>', 'base URL of the running WADI (default PUBLIC_URL, else http://127.0.0.1:PORT)')
    .option('--json', 'print the results as JSON')
    .option('--send-test-alert', 'send a test notification to every configured alert channel')
    .option('--ci', 'run lint, typecheck and unit tests locally (npm scripts)')
    .action(async (opts: { url?: string; json?: boolean; sendTestAlert?: boolean; ci?: boolean }) => {
      if (opts.url && !/^https?:\/\/[^/\s]+/.test(opts.url)) {
        throw new CliError(`invalid --url "${opts.url}": expected http(s)://host[:port]`);
      }
      const [{ formatReport }, { preflightBaseUrl, preflightConfig, runPreflight, summarize }] = await Promise.all([
        import('../tools/preflight/report.ts'),
        import('../tools/preflight/run.ts'),
      ]);
      const cwd = process.cwd();
      const err = (l: string) => process.stderr.write(`${l}\n`);
      const options = { env: readEnvironment(cwd), cwd, url: opts.url, sendTestAlert: opts.sendTestAlert, ci: opts.ci };
      const url = preflightBaseUrl(options, preflightConfig(options.env, cwd).config);
      err(`wadi preflight: checking ${url}`);
      const results = await runPreflight(options, {
        section: (name, i, total) => err(`[${i}/${total}] ${name}…`),
        result: (r) => err(`      ${r.status === 'pass' ? '✓' : r.status === 'warn' ? '!' : '✗'} ${r.item}`),
        note: (l) => err(`      … ${l}`),
      });
      if (opts.json) {
        process.stdout.write(`${JSON.stringify({ url, summary: summarize(results), results }, null, 2)}\n`);
      } else {
        process.stdout.write(`\n${formatReport(results, url)}`);
      }
      if (summarize(results).fail > 0) process.exitCode = 1;
    });
}
