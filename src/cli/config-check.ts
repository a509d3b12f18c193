/** `wadi config check`: validate the environment and print the effective config, secrets hidden. */
import { existsSync, statSync } from 'node:fs';
import type { Command } from 'commander';
import { configSummary, redactedEnv, toolsSummary } from '../config/redact.ts';
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
      const out = { summary: configSummary(cfg), tools: toolsSummary(cfg), environment: redactedEnv(cfg) };
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
        return;
      }
      process.stdout.write('configuration is valid\n\n');
      for (const [k, v] of Object.entries(out.summary)) process.stdout.write(`  ${k.padEnd(10)} ${String(v)}\n`);
      const t = out.tools;
      const dir = t.knowledgeDir;
      const dirState =
        dir && !(existsSync(dir) && statSync(dir).isDirectory()) ? ' (not found: nothing to search yet)' : '';
      process.stdout.write(`  ${'knowledge'.padEnd(10)} ${dir ? `${dir}${dirState}` : 'off (KNOWLEDGE_DIR unset)'}\n`);
      process.stdout.write(
        `  ${'handoff'.padEnd(10)} ${t.handoffTool ? 'the model may call handoff' : 'no handoff tool'}\n`,
      );
      if (!t.file) process.stdout.write(`  ${'tools'.padEnd(10)} no MCP servers (ASSISTANT_TOOLS_FILE unset)\n`);
      else {
        const n = t.servers.length;
        process.stdout.write(`  ${'tools'.padEnd(10)} ${n} MCP server${n === 1 ? '' : 's'} from ${t.file}\n`);
        for (const s of t.servers) {
          process.stdout.write(`    ${s.name} (${s.transport}): ${s.target}\n`);
          if (s.passes.length > 0)
            process.stdout.write(`      ${s.transport === 'stdio' ? 'env' : 'headers'}: ${s.passes.join(', ')}\n`);
          process.stdout.write(
            `      tools: ${s.allowedTools === 'all' ? 'all the server lists' : s.allowedTools.join(', ')}${s.timeoutMs ? `; timeout ${s.timeoutMs} ms` : ''}\n`,
          );
        }
      }
      process.stdout.write('\neffective environment:\n');
      for (const [k, v] of Object.entries(out.environment)) {
        process.stdout.write(`  ${k}=${Array.isArray(v) ? v.join(',') : String(v)}\n`);
      }
    });
  config.action(() => {
    throw new CliError('missing subcommand: try "wadi config check"');
  });
}
