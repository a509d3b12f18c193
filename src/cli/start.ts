/** `wadi start [--role all|web|worker]`: the HTTP server and/or the workers. */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type Command, Option } from 'commander';
import type { StartupStep } from '../app/wadi.ts';
import type { Role } from '../kernel/module.ts';
import { configOrExit } from './common.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Prints one line per start-up step: its name when it begins, its result and duration when it ends. */
const printStep: StartupStep = async (name, run, summary) => {
  process.stdout.write(`wadi: ${name.padEnd(10)} …`);
  const t0 = performance.now();
  try {
    const result = await run();
    process.stdout.write(` ${summary(result)} (${((performance.now() - t0) / 1000).toFixed(1)} s)\n`);
    return result;
  } catch (err) {
    process.stdout.write(' failed\n');
    throw err;
  }
};

/**
 * The dashboard step: a checkout with the dashboard's sources and Vite (any `npm ci`/`npm install`)
 * builds web/dist when it is missing or older than web/src; an image or an install without dev
 * dependencies serves the web/dist it carries. A failed build is reported and WADI starts anyway:
 * the API works without the dashboard, /admin explains what to do.
 */
async function dashboardStep(): Promise<void> {
  const hasSources = existsSync(`${ROOT}web/vite.config.ts`) && existsSync(`${ROOT}scripts/ensure-web.mjs`);
  const built = () => existsSync(`${ROOT}web/dist/index.html`);
  if (!hasSources) {
    process.stdout.write(
      `wadi: dashboard  … ${built() ? 'prebuilt web/dist' : 'not built: /admin answers 503 (build it with npm run build:web)'}\n`,
    );
    return;
  }
  // Only a development checkout has this script (the image does not carry it).
  const web = await import('../../scripts/ensure-web.mjs');
  if (!web.isStale()) {
    process.stdout.write('wadi: dashboard  … up to date (web/dist)\n');
    return;
  }
  if (!web.canBuild()) {
    process.stdout.write(
      `wadi: dashboard  … ${built() ? 'web/dist is older than web/src but' : 'not built and'} Vite is not installed (npm ci installs it)\n`,
    );
    return;
  }
  await printStep(
    'dashboard',
    async () => web.ensureWeb({ force: true, quiet: true }),
    () => 'built web/ → web/dist',
  ).catch((err: Error) => {
    process.stderr.write(`wadi: ${err.message}\nwadi: starting without the dashboard (/admin answers 503)\n`);
  });
}

/** Registers the command. */
export function registerStart(program: Command): void {
  program
    .command('start')
    .description('run WADI: HTTP server and workers (default), or one of them')
    .addOption(new Option('--role <role>', 'which part to run').choices(['all', 'web', 'worker']).default('all'))
    .option('--port <port>', 'listen port (overrides PORT)')
    .action(async (opts: { role: Role; port?: string }) => {
      const config = configOrExit(opts.port ? { PORT: opts.port } : {});
      // Workers serve no dashboard.
      if (opts.role !== 'worker') await dashboardStep();
      const [{ createWadi }, { handleSignals }] = await Promise.all([
        import('../app/wadi.ts'),
        import('../lifecycle/signals.ts'),
      ]);
      const wadi = await createWadi(config, { role: opts.role, step: printStep });
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
        // The same choice as src/assistant/factory.ts: a configured LLM first, then the fake one.
        const llm =
          config.llm.kind === 'openai'
            ? `the configured LLM (${config.llm.model}): chats leave this machine`
            : config.env.WADI_SANDBOX_LLM
              ? 'the fake OpenAI-compatible model; no message leaves this machine'
              : 'offline assistant; no message leaves this machine';
        lines.push(`  Sandbox:    on: fake WhatsApp and Telegram APIs, ${llm}`);
      }
      if (config.database.embedded) lines.push(`  Database:   embedded PGlite in ${config.database.dataDir}`);
      process.stdout.write(`${lines.join('\n')}\n\n`);
    });
}
