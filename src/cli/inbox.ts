/**
 * `wadi inbox dead` (list dead letters with their reason), `wadi inbox replay ID`, and
 * `wadi inbox unstorable [--raw ID]` (deliveries the database refused, acknowledged and kept).
 */
import type { Command } from 'commander';
import type { Database } from '../db/client.ts';
import { CliError, configOrExit } from './common.ts';

function positiveInt(v: string, what: string): number {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n <= 0) throw new CliError(`invalid ${what} "${v}": expected a positive integer`);
  return n;
}

async function withDatabase<T>(fn: (db: Database) => Promise<T>): Promise<T> {
  const config = configOrExit();
  const { openDatabase } = await import('../db/client.ts');
  const database = await openDatabase({ url: config.database.url, dataDir: config.database.dataDir, poolSize: 2 });
  try {
    return await fn(database);
  } finally {
    await database.close();
  }
}

/** Registers the command. */
export function registerInbox(program: Command): void {
  const inbox = program.command('inbox').description('inspect and repair the inbound queue');
  inbox
    .command('dead')
    .description('list dead-lettered messages (newest first) with the reason they failed')
    .option('--limit <n>', 'how many', '50')
    .option('--cursor <id>', 'continue below this id (printed at the end of a page)')
    .option('--json', 'print JSON')
    .action(async (opts: { limit: string; cursor?: string; json?: boolean }) => {
      const limit = positiveInt(opts.limit, 'limit');
      const cursor = opts.cursor === undefined ? undefined : positiveInt(opts.cursor, 'cursor');
      const { listDeadLetters } = await import('../inbox/dead-letters.ts');
      const page = await withDatabase((db) => listDeadLetters(db, { limit, cursor }));
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(page, null, 2)}\n`);
        return;
      }
      if (page.items.length === 0) process.stdout.write('no dead letters\n');
      for (const d of page.items) {
        const text = (d.text ?? `[${d.kind}]`).replace(/\s+/g, ' ').slice(0, 60);
        process.stdout.write(
          `${d.id}\t${d.channel}\t${d.chatId}\t${d.receivedAt}\tattempts=${d.attempts}\t${d.lastError ?? '-'}\t${text}\n`,
        );
      }
      if (page.nextCursor !== undefined) process.stdout.write(`more: wadi inbox dead --cursor ${page.nextCursor}\n`);
    });
  inbox
    .command('replay')
    .description('put a dead-lettered message back in the queue with fresh attempts')
    .argument('<id>', 'inbox message id (from "wadi inbox dead")')
    .action(async (idArg: string) => {
      const id = positiveInt(idArg, 'id');
      const { NotADeadLetterError, replayDeadLetter } = await import('../inbox/dead-letters.ts');
      try {
        await withDatabase((db) => replayDeadLetter(db, id));
      } catch (err) {
        if (err instanceof NotADeadLetterError) throw new CliError(err.message);
        throw err;
      }
      process.stdout.write(`message ${id} is pending again; a worker will answer it\n`);
    });
  inbox
    .command('unstorable')
    .description('list webhook deliveries the database could not store (acknowledged, kept byte for byte)')
    .option('--limit <n>', 'how many', '50')
    .option('--raw <id>', 'write the bytes of one delivery, exactly as received, to stdout')
    .option('--json', 'print JSON')
    .action(async (opts: { limit: string; raw?: string; json?: boolean }) => {
      if (opts.raw !== undefined) {
        const id = positiveInt(opts.raw, 'id');
        const { unstorableBytes } = await import('../inbox/dead-letters.ts');
        const bytes = await withDatabase((db) => unstorableBytes(db, id));
        if (!bytes) throw new CliError(`unstorable delivery ${id} does not exist`);
        if (bytes.length === 0) throw new CliError(`unstorable delivery ${id} was purged (RETENTION_DAYS)`);
        process.stdout.write(bytes);
        return;
      }
      const limit = positiveInt(opts.limit, 'limit');
      const { listUnstorable } = await import('../inbox/dead-letters.ts');
      const items = await withDatabase((db) => listUnstorable(db, limit));
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(items, null, 2)}\n`);
        return;
      }
      if (items.length === 0) process.stdout.write('no unstorable deliveries\n');
      for (const d of items) {
        process.stdout.write(
          `${d.id}\t${d.channel}\t${d.receivedAt}\titems=${d.items}\tbytes=${d.bytes}\t${d.reason}\n`,
        );
      }
    });
  for (const cmd of inbox.commands) cmd.exitOverride();
}
