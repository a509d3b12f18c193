/** `wadi knowledge sync`: make the database's knowledge match KNOWLEDGE_DIR, one line per file. */
import type { Command } from 'commander';
import { openDatabase } from '../db/client.ts';
import { migrate } from '../db/migrate.ts';
import { searchLanguage } from '../knowledge/language.ts';
import { formatProgress, KnowledgeDirError, syncKnowledge } from '../knowledge/sync.ts';
import { CliError, configOrExit } from './common.ts';

/** Registers the command. */
export function registerKnowledge(program: Command): void {
  const knowledge = program.command('knowledge').description('the documents the assistant can search (KNOWLEDGE_DIR)');
  knowledge
    .command('sync')
    .description(
      'read KNOWLEDGE_DIR: index new and changed files, skip unchanged ones, drop removed ones (exit 1 if a file failed)',
    )
    .action(async () => {
      const config = configOrExit();
      const dir = config.env.KNOWLEDGE_DIR;
      if (!dir) throw new CliError('KNOWLEDGE_DIR is not set: point it at a folder of .md, .txt, .pdf or .docx files');
      const database = await openDatabase({ url: config.database.url, dataDir: config.database.dataDir, poolSize: 2 });
      try {
        if (config.env.WADI_MIGRATE_ON_START) await migrate(database);
        const summary = await syncKnowledge({
          database,
          dir,
          language: searchLanguage(config.env.ASSISTANT_LOCALE),
          maxFileBytes: config.env.KNOWLEDGE_MAX_FILE_BYTES,
          trigger: 'cli',
          onProgress: (p) => process.stdout.write(`${formatProgress(p)}\n`),
        });
        process.stdout.write(
          `${summary.added} added, ${summary.updated} updated, ${summary.unchanged} unchanged, ${summary.removed} removed, ${summary.failed} failed\n`,
        );
        if (summary.failed > 0) process.exitCode = 1;
      } catch (err) {
        if (err instanceof KnowledgeDirError) throw new CliError(err.message);
        throw err;
      } finally {
        await database.close();
      }
    });
  knowledge.exitOverride();
}
