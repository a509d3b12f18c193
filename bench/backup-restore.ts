/**
 * Measures backup and restore time on PostgreSQL for a database of realistic shape: N inbound
 * messages spread over N/20 conversations, each with a history turn and a reply in the outbox.
 *
 *   BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres npx tsx bench/backup-restore.ts [rows...]
 *
 * For each size it creates a scratch database, seeds it, runs `createBackup` (pg_dump -Fc under a
 * snapshot) and `verifyBackup` (restore into another scratch database + row-count check), prints
 * the figures and writes them to bench/results/backup-restore.json. The scratch databases are dropped.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { openDatabase } from '../src/db/client.ts';
import { migrate } from '../src/db/migrate.ts';
import { createBackup, verifyBackup } from '../src/features/backup/backup.ts';
import { formatBytes } from '../src/features/backup/progress.ts';

const base = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL;
if (!base) {
  process.stderr.write('set BENCH_DATABASE_URL (or TEST_DATABASE_URL) to a PostgreSQL server\n');
  process.exit(1);
}
const sizes = process.argv
  .slice(2)
  .map(Number)
  .filter((n) => n > 0);
if (sizes.length === 0) sizes.push(10_000, 100_000);

async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: base });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

const results: Record<string, unknown>[] = [];
for (const rows of sizes) {
  const name = `wadi_bench_${randomBytes(4).toString('hex')}`;
  await admin((c) => c.query(`create database ${name}`));
  const u = new URL(base);
  u.pathname = `/${name}`;
  const url = u.toString();
  const dir = mkdtempSync(path.join(tmpdir(), 'wadi-bench-backup-'));
  try {
    const db = await openDatabase({ url, poolSize: 2 });
    await migrate(db);
    const convs = Math.max(1, Math.floor(rows / 20));
    await db.query(
      `insert into conversations (channel, chat_id, user_id, display_name, messages_in, messages_out)
       select 'whatsapp', 'chat-' || g, 'chat-' || g, 'Usuario ' || g, 20, 20 from generate_series(1, $1) g`,
      [convs],
    );
    await db.query(
      `insert into inbox_messages (channel, external_id, chat_id, conversation_id, kind, event, status, done_at)
       select 'whatsapp', 'wamid.' || g, 'chat-' || (1 + g % $2), 1 + g % $2, 'text',
              jsonb_build_object('text', 'Hola, ¿qué tal? mensaje número ' || g), 'done', now()
         from generate_series(1, $1) g`,
      [rows, convs],
    );
    await db.query(
      `insert into outbox_messages (channel, chat_id, conversation_id, inbox_id, body, status, platform_message_id)
       select 'whatsapp', 'chat-' || (1 + g % $2), 1 + g % $2, g,
              'Respuesta del asistente al mensaje ' || g || '. ' || repeat('texto ', 20), 'delivered', 'wamid.out.' || g
         from generate_series(1, $1) g`,
      [rows, convs],
    );
    await db.query(
      `insert into history (conversation_id, role, content)
       select 1 + g % $2, case when g % 2 = 0 then 'user' else 'assistant' end, 'turno ' || g || ' ' || repeat('x', 80)
         from generate_series(1, $1) g`,
      [rows, convs],
    );
    await db.query('analyze');
    await db.close();

    const t0 = performance.now();
    const backup = await createBackup({ kind: 'postgres', url }, { dir, record: false });
    const dumpMs = performance.now() - t0;
    const verify = await verifyBackup(backup.file, { databaseUrl: url });
    const r = {
      inboxRows: rows,
      totalRows: Object.values(backup.manifest.tables).reduce((a, b) => a + b, 0),
      dumpBytes: backup.manifest.bytes,
      dumpMs: Math.round(dumpMs),
      restoreMs: Math.round(verify.restoreMs),
    };
    results.push(r);
    process.stdout.write(
      `${rows} inbound rows (${r.totalRows} rows in all): dump ${formatBytes(r.dumpBytes)} in ${(r.dumpMs / 1000).toFixed(2)} s, ` +
        `restore ${(r.restoreMs / 1000).toFixed(2)} s\n`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await admin((c) => c.query(`drop database if exists ${name} with (force)`));
  }
}

const server = await admin(
  async (c) => (await c.query<{ v: string }>(`select current_setting('server_version') as v`)).rows[0]?.v,
);
writeFileSync(
  path.join(import.meta.dirname, 'results/backup-restore.json'),
  `${JSON.stringify({ measuredAt: new Date().toISOString(), node: process.version, postgres: server, loadAverage: loadavg().map((l) => Math.round(l * 10) / 10), results }, null, 2)}\n`,
);
