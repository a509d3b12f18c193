/**
 * WhatsApp webhook ingest benchmark: `wadi start --role web` against real PostgreSQL, next to a
 * plain Express 5 receiver (bench/express-receiver.ts) doing the same work the usual way.
 *
 * Every request carries a unique, correctly signed, Meta-escaped body. For 5, 50 and 200
 * connections it reports RPS, p50/p99 latency and the server process's CPU time per request
 * (utime+stime from /proc/<pid>/stat), then checks that every request answered 200 is in the
 * database. Results go to bench/results/whatsapp-ingest.{json,md}.
 *
 *   TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test node --import tsx bench/whatsapp-ingest.ts
 *   (BENCH_DURATION=10 seconds per run, BENCH_CONNECTIONS=5,50,200)
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import pg from 'pg';
import { metaStringify } from '../src/channels/whatsapp/meta-json.ts';
import { textNotification } from '../src/channels/whatsapp/payload.ts';
import { signBody } from '../src/channels/whatsapp/signature.ts';
import { SANDBOX_CREDENTIALS } from '../src/config/config.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const BASE_URL = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL;
const DURATION = Number(process.env.BENCH_DURATION ?? 10);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 3);
const CONNECTIONS = (process.env.BENCH_CONNECTIONS ?? '5,50,200').split(',').map(Number);
const SECRET = SANDBOX_CREDENTIALS.whatsappAppSecret;
const PHONE_ID = SANDBOX_CREDENTIALS.whatsappPhoneNumberId;
const TICK_US = 1_000_000 / 100; // CLK_TCK is 100 on Linux

type Target = 'wadi' | 'express';

interface Run {
  target: Target;
  connections: number;
  durationS: number;
  requests: number;
  ok: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  cpuUsPerRequest: number;
  verifiedInDatabase: number;
  missingFromDatabase: number;
  /** 1-minute load average of the machine when the run started (it is shared: read with care). */
  loadAvg1m: number;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

async function createDb(): Promise<{ url: string; drop: () => Promise<void> }> {
  if (!BASE_URL) throw new Error('set TEST_DATABASE_URL (or BENCH_DATABASE_URL) to a PostgreSQL server');
  const name = `wadi_bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: BASE_URL });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const u = new URL(BASE_URL);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: BASE_URL });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    },
  };
}

async function waitHttp(url: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(url)).status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${url} did not come up`);
}

/** utime + stime of a process, in microseconds. */
function cpuUs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * TICK_US;
}

function startTarget(target: Target, port: number, databaseUrl: string): ChildProcess {
  const env = { PATH: process.env.PATH, HOME: process.env.HOME };
  if (target === 'wadi') {
    return spawn(process.execPath, [path.join(ROOT, 'bin/wadi.js'), 'start', '--role', 'web'], {
      cwd: ROOT,
      env: { ...env, DATABASE_URL: databaseUrl, PORT: String(port), HOST: '127.0.0.1', LOG_FORMAT: 'json' },
      stdio: 'ignore',
    });
  }
  return spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'bench/express-receiver.ts')], {
    cwd: ROOT,
    env: { ...env, DATABASE_URL: databaseUrl, PORT: String(port), APP_SECRET: SECRET },
    stdio: 'ignore',
  });
}

/** One autocannon run with unique signed bodies; returns the result and the wamids answered 200. */
async function load(url: string, connections: number, duration: number) {
  const okIds: string[] = [];
  let seq = 0;
  const result = await autocannon({
    url: `${url}/webhooks/whatsapp`,
    connections,
    duration,
    timeout: 10,
    requests: [
      {
        method: 'POST',
        setupRequest: (req, context) => {
          const from = `52155${String(seq++ % 5000).padStart(8, '0')}`;
          const { body, wamid } = textNotification({ phoneNumberId: PHONE_ID, from, text: 'hola, ¿cómo estás? 😀' });
          const raw = metaStringify(body);
          (context as { wamid?: string }).wamid = wamid;
          return {
            ...req,
            body: raw,
            headers: { 'content-type': 'application/json', 'x-hub-signature-256': signBody(raw, SECRET) },
          };
        },
        onResponse: (status, _body, context) => {
          if (status === 200) okIds.push((context as { wamid: string }).wamid);
        },
      },
    ],
  });
  return { result, okIds };
}

async function countStored(databaseUrl: string, target: Target, ids: string[]): Promise<number> {
  const c = new pg.Client({ connectionString: databaseUrl });
  await c.connect();
  try {
    const sql =
      target === 'wadi'
        ? "select count(*)::int as n from inbox_messages where channel = 'whatsapp' and external_id = any($1)"
        : 'select count(*)::int as n from express_inbox where wamid = any($1)';
    let n = 0;
    for (let i = 0; i < ids.length; i += 20_000) {
      n += (await c.query<{ n: number }>(sql, [ids.slice(i, i + 20_000)])).rows[0].n;
    }
    return n;
  } finally {
    await c.end();
  }
}

interface Server {
  readonly target: Target;
  readonly url: string;
  readonly databaseUrl: string;
  readonly child: ChildProcess;
  stop(): Promise<void>;
}

async function startServer(target: Target): Promise<Server> {
  const db = await createDb();
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  if (target === 'express') {
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    await c.query(`create table express_inbox (
      id bigserial primary key, wamid text not null unique, sender text not null, kind text not null,
      payload jsonb not null, sent_at timestamptz, received_at timestamptz not null default now())`);
    await c.end();
  }
  const child = startTarget(target, port, db.url);
  await waitHttp(target === 'wadi' ? `${url}/health/ready` : `${url}/metrics`);
  return {
    target,
    url,
    databaseUrl: db.url,
    child,
    async stop() {
      child.kill('SIGTERM');
      if (child.exitCode === null) await new Promise((r) => child.once('exit', r));
      await db.drop();
    },
  };
}

/** Warm-up, then one measured run against `server`, then the database check. */
async function measure(server: Server, connections: number): Promise<Run> {
  const { target, url, child } = server;
  await load(url, connections, WARMUP); // JIT, pools and caches warm; not measured
  const loadAvg1m = Math.round(os.loadavg()[0] * 10) / 10;
  const before = cpuUs(child.pid as number);
  const { result, okIds } = await load(url, connections, DURATION);
  const cpu = cpuUs(child.pid as number) - before;
  const stored = await countStored(server.databaseUrl, target, okIds);
  const run: Run = {
    target,
    connections,
    durationS: result.duration,
    requests: result.requests.total,
    ok: okIds.length,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    rps: Math.round(okIds.length / result.duration),
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    cpuUsPerRequest: Math.round(cpu / Math.max(1, result.requests.total)),
    verifiedInDatabase: stored,
    missingFromDatabase: okIds.length - stored,
    loadAvg1m,
  };
  process.stdout.write(`${JSON.stringify(run)}\n`);
  return run;
}

/**
 * Both servers run side by side (idle while the other is measured); for each connection count
 * WADI and Express are measured back to back, so drift in the shared machine's load hits both alike.
 */
async function benchAll(): Promise<Run[]> {
  const servers: Server[] = [];
  try {
    servers.push(await startServer('wadi'), await startServer('express'));
    const runs: Run[] = [];
    for (const connections of CONNECTIONS) for (const s of servers) runs.push(await measure(s, connections));
    return runs;
  } finally {
    for (const s of servers) await s.stop().catch(() => {});
  }
}

function markdown(out: {
  date: string;
  machine: string;
  runs: Run[];
  ratios: { connections: number; rps: number; cpu: number }[];
}): string {
  const lines = [
    '# WhatsApp webhook ingest: WADI vs a plain Express 5 receiver',
    '',
    `${out.date} · ${out.machine} · ${DURATION} s per run after ${WARMUP} s warm-up · script: \`bench/whatsapp-ingest.ts\``,
    '',
    '| target | connections | RPS (200s) | p50 ms | p99 ms | CPU µs/request | non-2xx | errors | 200s found in DB | load avg |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---|---:|',
    ...out.runs.map(
      (r) =>
        `| ${r.target} | ${r.connections} | ${r.rps} | ${r.p50Ms} | ${r.p99Ms} | ${r.cpuUsPerRequest} | ${r.non2xx} | ${r.errors + r.timeouts} | ${r.verifiedInDatabase}/${r.ok} | ${r.loadAvg1m} |`,
    ),
    '',
    '| connections | WADI RPS ÷ Express RPS | WADI CPU/request ÷ Express CPU/request |',
    '|---:|---:|---:|',
    ...out.ratios.map((r) => `| ${r.connections} | ${r.rps.toFixed(2)}× | ${(r.cpu * 100).toFixed(0)} % |`),
    '',
    'Targets: ≥ 3× the Express RPS at 50 connections, ≤ 40 % of its CPU per request.',
    '',
  ];
  return lines.join('\n');
}

async function main(): Promise<void> {
  const runs = await benchAll();
  const ratios = CONNECTIONS.map((c) => {
    const w = runs.find((r) => r.target === 'wadi' && r.connections === c) as Run;
    const e = runs.find((r) => r.target === 'express' && r.connections === c) as Run;
    return {
      connections: c,
      rps: Math.round((w.rps / e.rps) * 100) / 100,
      cpu: Math.round((w.cpuUsPerRequest / e.cpuUsPerRequest) * 100) / 100,
    };
  });
  const out = {
    date: new Date().toISOString(),
    machine: `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, Node ${process.version}, shared with other workloads`,
    durationS: DURATION,
    warmupS: WARMUP,
    runs,
    ratios,
  };
  writeFileSync(path.join(ROOT, 'bench/results/whatsapp-ingest.json'), `${JSON.stringify(out, null, 2)}\n`);
  writeFileSync(path.join(ROOT, 'bench/results/whatsapp-ingest.md'), markdown(out));
  process.stdout.write(markdown(out));
  const missing = runs.reduce((n, r) => n + r.missingFromDatabase, 0);
  if (missing > 0) {
    process.stderr.write(`${missing} acknowledged requests are missing from the database\n`);
    process.exitCode = 1;
  }
}

await main();
