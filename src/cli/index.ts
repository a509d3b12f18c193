/** The `wadi` command line: parsing only; each command calls into the modules. */
import { Command, CommanderError } from 'commander';
import { DatabaseOpenError } from '../db/errors.ts';
import { registerBackup } from './backup.ts';
import { CliError } from './common.ts';
import { registerConfig } from './config-check.ts';
import { registerInbox } from './inbox.ts';
import { registerKnowledge } from './knowledge.ts';
import { registerLoad } from './load.ts';
import { registerMigrate } from './migrate.ts';
import { registerPreflight } from './preflight.ts';
import { registerSandbox } from './sandbox.ts';
import { registerSimulate } from './simulate.ts';
import { registerStart } from './start.ts';
import { registerTelegram } from './telegram.ts';
import { registerWatch } from './watch.ts';

/** Builds the program with every command registered. */
export function buildProgram(): Command {
  const program = new Command('wadi')
    .description('WADI: a 24/7 assistant on WhatsApp and Telegram')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  registerStart(program);
  registerMigrate(program);
  registerConfig(program);
  registerLoad(program);
  registerSandbox(program);
  registerSimulate(program);
  registerTelegram(program);
  registerInbox(program);
  registerWatch(program);
  registerPreflight(program);
  registerBackup(program);
  registerKnowledge(program);
  for (const cmd of program.commands) cmd.exitOverride();
  return program;
}

/** Runs the CLI; resolves with the exit code for errors, leaves long-running commands running. */
export async function run(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version exit 0; usage errors already printed their one line.
      process.exitCode = err.exitCode === 0 ? 0 : 1;
      return;
    }
    if (err instanceof CliError || err instanceof DatabaseOpenError) {
      process.stderr.write(`wadi: ${err.message}\n`);
      process.exitCode = err instanceof CliError ? err.exitCode : 1;
      return;
    }
    process.stderr.write(`wadi: ${(err as Error).message ?? String(err)}\n`);
    process.exitCode = 1;
  }
}
