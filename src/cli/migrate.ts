/** `wadi migrate [status]`: apply pending migrations, or list them. */
import type { Command } from 'commander';
import { CliError, configOrExit } from './common.ts';

/** Registers the command. */
export function registerMigrate(program: Command): void {
  program
    .command('migrate')
    .description('apply pending database migrations; "migrate status" lists them (exit 1 if any is pending)')
    .argument('[action]', '"status" to list instead of applying')
    .action(async (action?: string) => {
      if (action !== undefined && action !== 'status') {
        throw new CliError(`unknown migrate action "${action}": expected "status" or nothing`);
      }
      const config = configOrExit();
      const [{ openDatabase }, { migrate, migrationStatus }] = await Promise.all([
        import('../db/client.ts'),
        import('../db/migrate.ts'),
      ]);
      const database = await openDatabase({ url: config.database.url, dataDir: config.database.dataDir, poolSize: 2 });
      try {
        if (action === 'status') {
          const states = await migrationStatus(database);
          for (const m of states) process.stdout.write(`${m.applied ? 'applied ' : 'PENDING '} ${m.name}\n`);
          const pending = states.filter((m) => !m.applied).length;
          process.stdout.write(`${states.length - pending} applied, ${pending} pending\n`);
          if (pending > 0) process.exitCode = 1;
        } else {
          const applied = await migrate(database);
          process.stdout.write(applied > 0 ? `applied ${applied} migration(s)\n` : 'database is up to date\n');
        }
      } finally {
        await database.close();
      }
    });
}
