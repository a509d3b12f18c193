/** `wadi sandbox [--port N]`: the fake Graph API, Bot API and OpenAI-compatible API, standalone. */
import type { Command } from 'commander';
import { configOrExit, parsePort } from './common.ts';

/** Registers the command. */
export function registerSandbox(program: Command): void {
  program
    .command('sandbox')
    .description('run the fake WhatsApp Graph API, Telegram Bot API and OpenAI-compatible API on their own')
    .option('--port <port>', 'listen port', '3100')
    .option('--host <host>', 'listen address', '127.0.0.1')
    .action(async (opts: { port: string; host: string }) => {
      const config = configOrExit();
      if (config.production) throw new Error('the sandbox cannot run in production');
      const port = parsePort(opts.port);
      const [{ default: Fastify }, { sandboxPlugin }, { SandboxState }] = await Promise.all([
        import('fastify'),
        import('../sandbox/module.ts'),
        import('../sandbox/state.ts'),
      ]);
      const app = Fastify({ bodyLimit: 5 * 1024 * 1024 });
      await app.register(sandboxPlugin(new SandboxState()));
      const stop = async () => {
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
          `  point WADI at it with WADI_SANDBOX_URL=${base}`,
          '',
        ].join('\n'),
      );
    });
}
