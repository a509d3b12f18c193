/**
 * WhatsApp webhook ingest benchmark: `wadi start --role web` against real PostgreSQL, next to a
 * plain Express 5 receiver (bench/express-receiver.ts) doing the same work the usual way.
 *
 * Every request carries a unique, correctly signed, Meta-escaped body. For 5, 50 and 200
 * connections it reports RPS, p50/p99 latency and the server process's CPU time per request
 * (utime+stime from /proc/<pid>/stat), then checks that every request answered 200 is in the
 * database. Two floor rows run in the same pass: a bare node:http server and a Fastify hello
 * route (bench/hello-servers.ts), which read the body and answer 200 without storing anything.
 * Results go to bench/results/whatsapp-ingest.{json,md}.
 *
 *   TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test node --import tsx bench/whatsapp-ingest.ts
 *   (BENCH_DURATION=10 seconds per run, BENCH_CONNECTIONS=5,50,200, BENCH_ROUNDS=1 passes,
 *    BENCH_TARGETS=wadi,express,node-http,fastify-hello, BENCH_PROFILE=1: WADI runs under
 *    `node --cpu-prof` and the profile's top self-time entries are added to the results,
 *    BENCH_BASELINE_ROOT=<another checkout>: target `wadi-baseline` runs that checkout's WADI in the
 *    same pass, for a before/after on the same machine at the same moment)
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import pg from 'pg';
import { metaStringify } from '../src/channels/whatsapp/meta-json.ts';
import { textNotification } from '../src/channels/whatsapp/payload.ts';
import { signBody } from '../src/channels/whatsapp/signature.ts';
import { SANDBOX_CREDENTIALS } from '../src/config/config.ts';
import { profileTop, type TopEntry } from './lib/profile-top.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const BASE_URL = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL;
const DURATION = Number(process.env.BENCH_DURATION ?? 10);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 3);
const CONNECTIONS = (process.env.BENCH_CONNECTIONS ?? '5,50,200').split(',').map(Number);
const SECRET = SANDBOX_CREDENTIALS.whatsappAppSecret;
const PHONE_ID = SANDBOX_CREDENTIALS.whatsappPhoneNumberId;
const TICK_US = 1_000_000 / 100; // CLK_TCK is 100 on Linux
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 1);
const TARGETS = (process.env.BENCH_TARGETS ?? 'wadi,express,node-http,fastify-hello').split(',') as Target[];
const PROFILE = process.env.BENCH_PROFILE === '1';
const PROFILE_DIR = PROFILE ? mkdtempSync(path.join(os.tmpdir(), 'wadi-ingest-prof-')) : undefined;

type Target = 'wadi' | 'wadi-no-notify' | 'wadi-baseline' | 'express' | 'node-http' | 'fastify-hello';
/** Another checkout of WADI (e.g. main) measured as `wadi-baseline`. */
const BASELINE_ROOT = process.env.BENCH_BASELINE_ROOT;
/** WADI with its NOTIFY triggers disabled (what the workers' wake-up signal costs the ingest). */
const isWadi = (t: Target) => t === 'wadi' || t === 'wadi-no-notify' || t === 'wadi-baseline';
/** Targets that store what they receive (their 200s are checked against the database). */
const STORES = (t: Target) => isWadi(t) || t === 'express';

interface Run {
  target: Target;
  round: number;
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
  /** The kernel's part of cpuUsPerRequest (stime: socket reads and writes, on loopback both ends). */
  systemCpuUsPerRequest: number;
  verifiedInDatabase: number;
  missingFromDatabase: number;
  /** CPU of the bench process itself (autocannon and the signing of every body) per request. */
  clientCpuUsPerRequest: number;
  /** CPU of all PostgreSQL processes on the machine per request (the server is local). */
  postgresCpuUsPerRequest: number;
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

async function waitPost(url: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${url} did not come up`);
}

/** utime + stime of a process, and stime alone (the kernel's share: sockets), in microseconds. */
function cpuUs(pid: number): { total: number; system: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { total: (Number(fields[11]) + Number(fields[12])) * TICK_US, system: Number(fields[12]) * TICK_US };
}

/** utime + stime of each `postgres` process on the machine, in microseconds, by pid. */
function postgresCpuUs(): Map<string, number> {
  const byPid = new Map<string, number>();
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (!stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')).startsWith('postgres')) continue;
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      byPid.set(pid, (Number(fields[11]) + Number(fields[12])) * TICK_US);
    } catch {
      // the process exited between the listing and the read
    }
  }
  return byPid;
}

/** CPU the `postgres` processes used since `before` (processes that exited meanwhile are lost). */
function postgresCpuSince(before: Map<string, number>): number {
  let total = 0;
  for (const [pid, us] of postgresCpuUs()) total += us - (before.get(pid) ?? 0);
  return total;
}

function startTarget(target: Target, port: number, databaseUrl: string): ChildProcess {
  const env = { PATH: process.env.PATH, HOME: process.env.HOME };
  if (isWadi(target)) {
    const prof = PROFILE_DIR && target === 'wadi' ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`] : [];
    let root = ROOT;
    if (target === 'wadi-baseline') {
      if (!BASELINE_ROOT) throw new Error('wadi-baseline needs BENCH_BASELINE_ROOT (another checkout)');
      root = path.resolve(BASELINE_ROOT);
    }
    return spawn(process.execPath, [...prof, path.join(root, 'bin/wadi.js'), 'start', '--role', 'web'], {
      cwd: root,
      env: { ...env, DATABASE_URL: databaseUrl, PORT: String(port), HOST: '127.0.0.1', LOG_FORMAT: 'json' },
      stdio: 'ignore',
    });
  }
  if (target === 'node-http' || target === 'fastify-hello') {
    const kind = target === 'node-http' ? 'node' : 'fastify';
    return spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'bench/hello-servers.ts'), kind], {
      cwd: ROOT,
      env: { ...env, PORT: String(port) },
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
    const sql = isWadi(target)
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
  /** performance.now() when the process was spawned (profile times are relative to it). */
  readonly spawnedAt: number;
  stop(): Promise<void>;
}

/** Where the measured runs of WADI lie on its profile's time line (ms since spawn). */
const profiledWindows: { fromMs: number; toMs: number }[] = [];

async function startServer(target: Target): Promise<Server> {
  if (!STORES(target)) {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const spawnedAt = performance.now();
    const child = startTarget(target, port, '');
    await waitPost(`${url}/webhooks/whatsapp`);
    return {
      target,
      url,
      databaseUrl: '',
      child,
      spawnedAt,
      async stop() {
        child.kill('SIGTERM');
        if (child.exitCode === null) await new Promise((r) => child.once('exit', r));
      },
    };
  }
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
  const spawnedAt = performance.now();
  const child = startTarget(target, port, db.url);
  await waitHttp(isWadi(target) ? `${url}/health/ready` : `${url}/metrics`);
  if (target === 'wadi-no-notify') {
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    await c.query('alter table inbox_messages disable trigger inbox_messages_notify_insert');
    await c.end();
  }
  return {
    target,
    url,
    databaseUrl: db.url,
    child,
    spawnedAt,
    async stop() {
      child.kill('SIGTERM');
      if (child.exitCode === null) await new Promise((r) => child.once('exit', r));
      await db.drop();
    },
  };
}

/** Warm-up, then one measured run against `server`, then the database check. */
async function measure(server: Server, connections: number, round: number): Promise<Run> {
  const { target, url, child } = server;
  await load(url, connections, WARMUP); // JIT, pools and caches warm; not measured
  const loadAvg1m = Math.round(os.loadavg()[0] * 10) / 10;
  const before = cpuUs(child.pid as number);
  const pgBefore = postgresCpuUs();
  const clientBefore = process.cpuUsage();
  const fromMs = performance.now() - server.spawnedAt;
  const { result, okIds } = await load(url, connections, DURATION);
  const after = cpuUs(child.pid as number);
  const cpu = after.total - before.total;
  const sys = after.system - before.system;
  const clientUsage = process.cpuUsage(clientBefore);
  const pgCpu = postgresCpuSince(pgBefore);
  if (target === 'wadi' && connections === 50)
    profiledWindows.push({ fromMs, toMs: performance.now() - server.spawnedAt });
  const stored = STORES(target) ? await countStored(server.databaseUrl, target, okIds) : okIds.length;
  const run: Run = {
    target,
    round,
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
    systemCpuUsPerRequest: Math.round(sys / Math.max(1, result.requests.total)),
    clientCpuUsPerRequest: Math.round((clientUsage.user + clientUsage.system) / Math.max(1, result.requests.total)),
    postgresCpuUsPerRequest: Math.round(pgCpu / Math.max(1, result.requests.total)),
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
    for (const t of TARGETS) servers.push(await startServer(t));
    const runs: Run[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      for (const connections of CONNECTIONS) for (const s of servers) runs.push(await measure(s, connections, round));
    }
    return runs;
  } finally {
    for (const s of servers) await s.stop().catch(() => {});
  }
}

interface Ratio {
  round: number;
  connections: number;
  /** WADI RPS ÷ Express RPS. */
  rps: number;
  /** WADI CPU/request ÷ Express CPU/request. */
  cpu: number;
  wadiCpuUsPerRequest: number;
}

function markdown(out: {
  date: string;
  machine: string;
  runs: Run[];
  ratios: Ratio[];
  profile?: { totalMs: number; entries: TopEntry[] };
}): string {
  const lines = [
    '# WhatsApp webhook ingest: WADI vs a plain Express 5 receiver, and the Node.js floor',
    '',
    `${out.date} · ${out.machine} · ${DURATION} s per run after ${WARMUP} s warm-up · script: \`bench/whatsapp-ingest.ts\``,
    '',
    '`node-http` and `fastify-hello` read the body and answer 200, storing nothing (the floor);',
    '`wadi` and `express` verify the signature and commit every message before answering.',
    '',
    '| round | target | connections | RPS (200s) | p50 ms | p99 ms | CPU µs/request | of which kernel | client CPU µs/req | PostgreSQL CPU µs/req | non-2xx | errors | 200s found in DB | load avg |',
    '|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|',
    ...out.runs.map(
      (r) =>
        `| ${r.round} | ${r.target} | ${r.connections} | ${r.rps} | ${r.p50Ms} | ${r.p99Ms} | ${r.cpuUsPerRequest} | ${r.systemCpuUsPerRequest} | ${r.clientCpuUsPerRequest} | ${r.postgresCpuUsPerRequest} | ${r.non2xx} | ${r.errors + r.timeouts} | ${STORES(r.target) ? `${r.verifiedInDatabase}/${r.ok}` : 'n/a'} | ${r.loadAvg1m} |`,
    ),
    '',
    '| round | connections | WADI RPS ÷ Express RPS | WADI CPU µs/request | WADI CPU/request ÷ Express CPU/request |',
    '|---:|---:|---:|---:|---:|',
    ...out.ratios.map(
      (r) =>
        `| ${r.round} | ${r.connections} | ${r.rps.toFixed(2)}× | ${r.wadiCpuUsPerRequest} | ${(r.cpu * 100).toFixed(0)} % |`,
    ),
    '',
    'Targets (issue 20): ≤ 120 µs of server CPU per webhook and ≥ 3× the Express RPS at 50 connections.',
    '',
  ];
  if (out.profile) {
    lines.push(
      `## WADI's CPU profile (\`node --cpu-prof\`, the first measured 50-connection run: ${out.profile.totalMs} ms sampled)`,
      '',
      '| self % | self ms | function | where |',
      '|---:|---:|---|---|',
      ...out.profile.entries.map((e) => `| ${e.percent} | ${e.selfMs} | ${e.name} | ${e.where} |`),
      '',
    );
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const started = performance.now();
  const runs = await benchAll();
  const ratios: Ratio[] = [];
  if (TARGETS.includes('wadi') && TARGETS.includes('express')) {
    for (let round = 1; round <= ROUNDS; round++) {
      for (const c of CONNECTIONS) {
        const w = runs.find((r) => r.target === 'wadi' && r.connections === c && r.round === round) as Run;
        const e = runs.find((r) => r.target === 'express' && r.connections === c && r.round === round) as Run;
        ratios.push({
          round,
          connections: c,
          rps: Math.round((w.rps / e.rps) * 100) / 100,
          cpu: Math.round((w.cpuUsPerRequest / e.cpuUsPerRequest) * 100) / 100,
          wadiCpuUsPerRequest: w.cpuUsPerRequest,
        });
      }
    }
  }
  let profile: { totalMs: number; entries: TopEntry[] } | undefined;
  if (PROFILE_DIR) {
    // The main thread's profile is the largest; only the first measured 50-connection run counts.
    const files = readdirSync(PROFILE_DIR)
      .filter((f) => f.endsWith('.cpuprofile'))
      .map((f) => path.join(PROFILE_DIR, f));
    const main = files.sort((a, b) => readFileSync(b).length - readFileSync(a).length)[0];
    const w = profiledWindows[0];
    if (main && w) profile = profileTop(main, 30, w.fromMs, w.toMs);
  }
  const out = {
    date: new Date().toISOString(),
    machine: `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, Node ${process.version}, shared with other workloads`,
    durationS: DURATION,
    warmupS: WARMUP,
    wallSeconds: Math.round((performance.now() - started) / 1000),
    runs,
    ratios,
    profile,
  };
  const name = process.env.BENCH_OUT ?? 'whatsapp-ingest';
  writeFileSync(path.join(ROOT, `bench/results/${name}.json`), `${JSON.stringify(out, null, 2)}\n`);
  writeFileSync(path.join(ROOT, `bench/results/${name}.md`), markdown(out));
  process.stdout.write(markdown(out));
  const missing = runs.reduce((n, r) => n + r.missingFromDatabase, 0);
  if (missing > 0) {
    process.stderr.write(`${missing} acknowledged requests are missing from the database\n`);
    process.exitCode = 1;
  }
}

await main();
