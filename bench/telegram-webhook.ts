/**
 * Telegram webhook ingest: autocannon against an in-process WADI (sandbox, webhook mode) on the
 * database in BENCH_DATABASE_URL (PostgreSQL) or PGlite. Every request carries a fresh update_id,
 * so each one is a real INSERT committed before the 200. Prints and writes
 * bench/results/telegram-webhook.json.
 *
 *   BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test npx tsx bench/telegram-webhook.ts
 */
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import autocannon from 'autocannon';
import { SANDBOX_CREDENTIALS } from '../src/config/config.ts';
import { openDatabase } from '../src/db/client.ts';
import { createPostgresDatabase } from '../test/helpers/db.ts';
import { startTestWadi } from '../test/helpers/wadi.ts';

const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 20);

process.env.TEST_DATABASE_URL ??= process.env.BENCH_DATABASE_URL;
const pgdb = process.env.BENCH_DATABASE_URL ? await createPostgresDatabase() : undefined;
const database = await openDatabase(pgdb ? { url: pgdb.url, poolSize: 10 } : { dataDir: 'memory://' });
const w = await startTestWadi(database, { env: { TELEGRAM_MODE: 'webhook', LOG_LEVEL: 'warn' } });

let id = 1;
const result = await autocannon({
  url: `${w.url}/webhooks/telegram`,
  method: 'POST',
  connections,
  duration: seconds,
  headers: {
    'content-type': 'application/json',
    'x-telegram-bot-api-secret-token': SANDBOX_CREDENTIALS.telegramWebhookSecret,
  },
  requests: [
    {
      setupRequest: (req) => {
        const n = id++;
        const chat = 1000 + (n % 500);
        req.body = JSON.stringify({
          update_id: n,
          message: {
            message_id: n,
            date: 1_764_000_000,
            text: `hola ${n}`,
            chat: { id: chat, type: 'private' },
            from: { id: chat, first_name: 'Bench' },
          },
        });
        return req;
      },
    },
  ],
});
const stored = (await database.query<{ n: number }>(`select count(*)::int as n from inbox_messages`)).rows[0].n;
const out = {
  at: new Date().toISOString(),
  backend: pgdb ? 'postgres' : 'pglite',
  connections,
  seconds,
  requests: result.requests.total,
  rps: result.requests.average,
  latencyMs: { p50: result.latency.p50, p97_5: result.latency.p97_5, p99: result.latency.p99 },
  non2xx: result.non2xx,
  stored,
  machine: { cpus: os.cpus().length, loadavg1m: os.loadavg()[0] },
};
process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
writeFileSync(new URL('./results/telegram-webhook.json', import.meta.url), `${JSON.stringify(out, null, 2)}\n`);
await w.stop();
await database.close();
await pgdb?.drop();
