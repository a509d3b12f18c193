/**
 * Idle cost (issue 20): CPU of `wadi start` processes with no traffic at all, per role, on real
 * PostgreSQL and on the embedded PGlite default. Workers and dispatchers sleep on LISTEN/NOTIFY
 * (and in-process signals) and poll only as a safety net (WORKER_POLL_MS); what remains is the
 * periodic work of a healthy process (gauges, alert evaluation, the safety-net polls).
 *
 * All targets start together, settle for BENCH_SETTLE_SECONDS (45: past the full GCs V8 runs
 * in the first half minute after start-up), then their utime+stime is read
 * from /proc over BENCH_IDLE_SECONDS, next to a bare `node` process sleeping on a timer (the
 * floor). A second pass with WORKER_POLL_MS=500 (the old default poll interval) on PostgreSQL is the
 * comparison. Target: ≤ 0.5 % of one core per process. BENCH_PASSES (2) repeats the whole pass
 * (fresh processes each time) so the results show the spread; the verdict takes the worst pass.
 * The processes run on the Node that runs this script: on Node 20 `wadi` goes through tsx, on
 * Node ≥ 22.18 (the production target) it runs the TypeScript natively.
 *
 *   TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test node --import tsx bench/idle.ts
 *   TEST_DATABASE_URL=… /path/to/node24 bench/idle.ts
 *
 * Writes bench/results/idle-node<major>.json and .md.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from '../test/helpers/cli.ts';
import { createPostgresDatabase } from '../test/helpers/db.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const BIN = path.join(ROOT, 'bin/wadi.js');
const SETTLE_S = Number(process.env.BENCH_SETTLE_SECONDS ?? 45);
const IDLE_S = Number(process.env.BENCH_IDLE_SECONDS ?? 60);
const PASSES = Number(process.env.BENCH_PASSES ?? 2);
const NODE_MAJOR = process.versions.node.split('.')[0];
const TARGET_PERCENT = 0.5;

interface Target {
  readonly name: string;
  readonly role?: 'all' | 'web' | 'worker';
  readonly database: 'postgres' | 'pglite' | 'none';
  readonly env?: Record<string, string>;
}

const TARGETS: Target[] = [
  { name: 'node (setInterval 1 s, the floor)', database: 'none' },
  { name: 'wadi --role all, PostgreSQL', role: 'all', database: 'postgres' },
  { name: 'wadi --role web, PostgreSQL', role: 'web', database: 'postgres' },
  { name: 'wadi --role worker, PostgreSQL', role: 'worker', database: 'postgres' },
  { name: 'wadi --role all, PGlite (default)', role: 'all', database: 'pglite' },
  {
    name: 'wadi --role all, PostgreSQL, WORKER_POLL_MS=500 (old poll)',
    role: 'all',
    database: 'postgres',
    env: { WORKER_POLL_MS: '500' },
  },
];

function rssMb(pid: number): number {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Math.round(Number(/VmRSS:\s+(\d+) kB/.exec(s)?.[1] ?? 0) / 1024);
}

function cpuSeconds(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

async function untilReady(url: string, timeoutMs = 120_000): Promise<void> {
  const start = performance.now();
  while (performance.now() - start < timeoutMs) {
    const ok = await fetch(`${url}/health/ready`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${url} not ready in time`);
}

interface Running {
  readonly target: Target;
  readonly child: ChildProcess;
  readonly exited: Promise<unknown>;
  readonly drop?: () => Promise<void>;
}

async function launch(target: Target): Promise<Running> {
  if (target.database === 'none') {
    const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    return { target, child, exited: new Promise((r) => child.on('exit', r)) };
  }
  const db = target.database === 'postgres' ? await createPostgresDatabase() : undefined;
  const cwd = mkdtempSync(path.join(tmpdir(), 'wadi-idle-'));
  const port = await freePort();
  const child = spawn(process.execPath, [BIN, 'start', '--role', target.role ?? 'all'], {
    cwd,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      LOG_LEVEL: 'warn',
      LOG_FORMAT: 'json',
      HOST: '127.0.0.1',
      PORT: String(port),
      ADMIN_API_KEY: 'bench-admin-key-0123456789abcdefghijkl',
      ...(db ? { DATABASE_URL: db.url } : { DATA_DIR: path.join(cwd, 'data') }),
      ...target.env,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const exited = new Promise((r) => child.on('exit', r));
  await untilReady(`http://127.0.0.1:${port}`);
  return { target, child, exited, drop: db?.drop };
}

async function pass(targets: Target[]) {
  const running: Running[] = [];
  try {
    for (const t of targets) running.push(await launch(t));
    await new Promise((r) => setTimeout(r, SETTLE_S * 1000));
    const la0 = loadavg()[0];
    const before = running.map((r) => cpuSeconds(r.child.pid as number));
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, IDLE_S * 1000));
    const seconds = (performance.now() - t0) / 1000;
    const after = running.map((r) => cpuSeconds(r.child.pid as number));
    return running.map((r, i) => {
      const cpuMs = Math.round((after[i] - before[i]) * 1000);
      const percent = Math.round((cpuMs / 1000 / seconds) * 1000) / 10;
      return {
        target: r.target.name,
        seconds: Math.round(seconds),
        cpuMs,
        percentOfOneCore: percent,
        withinTarget: percent <= TARGET_PERCENT,
        rssMb: rssMb(r.child.pid as number),
        loadAverage1m: [Math.round(la0 * 100) / 100, Math.round(loadavg()[0] * 100) / 100],
      };
    });
  } finally {
    for (const r of running) {
      r.child.kill('SIGTERM');
      await r.exited;
      await r.drop?.().catch(() => {});
    }
  }
}

const started = new Date().toISOString();
const passes: Awaited<ReturnType<typeof pass>>[] = [];
for (let i = 0; i < PASSES; i++) passes.push(await pass(TARGETS));
const rows = TARGETS.map((t, i) => {
  const each = passes.map((p) => p[i]);
  const percents = each.map((r) => r.percentOfOneCore);
  const worst = Math.max(...percents);
  return {
    target: t.name,
    percentOfOneCore: percents,
    cpuMs: each.map((r) => r.cpuMs),
    worstPercent: worst,
    withinTarget: worst <= TARGET_PERCENT,
    rssMb: each.map((r) => r.rssMb),
  };
});
const result = {
  started,
  node: process.version,
  cpus: cpus().length,
  settleSeconds: SETTLE_S,
  idleSeconds: IDLE_S,
  passes: PASSES,
  targetPercentOfOneCore: TARGET_PERCENT,
  note: 'CPU ticks are 10 ms (CLK_TCK 100): over 60 s one tick is 0.017 % of a core.',
  loadAverage1m: passes.map((p) => p[0].loadAverage1m),
  rows,
  runs: passes,
};
const name = `idle-node${NODE_MAJOR}`;
writeFileSync(path.join(ROOT, `bench/results/${name}.json`), `${JSON.stringify(result, null, 2)}\n`);
const md = [
  `# Idle cost per process (Node ${NODE_MAJOR})`,
  '',
  `${started} · Node ${process.version} · ${cpus().length} CPUs · ${PASSES} passes of ${IDLE_S} s idle after ${SETTLE_S} s settling · script: \`bench/idle.ts\``,
  '',
  `Load average (1 min) at the start and end of each pass: ${result.loadAverage1m.map((l) => l.join(' → ')).join('; ')}.`,
  '',
  '| process | CPU ms per pass | % of one core per pass | ≤ 0.5 % (worst pass) | RSS MB at rest |',
  '|---|---:|---:|---|---:|',
  ...rows.map(
    (r) =>
      `| ${r.target} | ${r.cpuMs.join(', ')} | ${r.percentOfOneCore.join(', ')} | ${r.withinTarget ? 'yes' : 'no'} | ${r.rssMb.join(', ')} |`,
  ),
  '',
  'All processes of a pass run at the same time with no traffic. The last row keeps the old 500 ms',
  'poll as the comparison (LISTEN/NOTIFY still active, so it shows the cost of polling alone). RSS',
  'at rest of the PGlite row minus the PostgreSQL `--role all` row is what the embedded database costs.',
  '',
];
writeFileSync(path.join(ROOT, `bench/results/${name}.md`), md.join('\n'));
console.log(md.join('\n'));
