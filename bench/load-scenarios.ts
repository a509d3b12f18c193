/**
 * The operations plan's figures on this machine: start-up time to ready (PGlite and PostgreSQL),
 * the load scenario (50 users) with WADI's peak RSS, and the stress scenario's breaking point.
 * Everything runs as real processes on 127.0.0.1: `wadi start` (role all, sandbox, real
 * PostgreSQL) and `wadi load …` as the client, exactly as a user would run them.
 *
 *   TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test node --import tsx bench/load-scenarios.ts
 *   (BENCH_SCENARIOS=load,stress  BENCH_DURATION=<seconds per scenario, scaled>)
 *
 * Writes bench/results/load-scenarios.json and .md.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from '../test/helpers/cli.ts';
import { createPostgresDatabase } from '../test/helpers/db.ts';
import { ROOT, sampleMemory, startWadi, untilReady, wadiLoad } from './lib/wadi.ts';

const scenarios = (process.env.BENCH_SCENARIOS ?? 'load,stress').split(',');

async function startupTime(kind: 'pglite' | 'postgres'): Promise<{ firstMs: number; secondMs: number }> {
  const cwd = mkdtempSync(path.join(tmpdir(), 'wadi-bench-'));
  const db = kind === 'postgres' ? await createPostgresDatabase() : undefined;
  const times: number[] = [];
  try {
    for (let i = 0; i < 2; i++) {
      const port = await freePort();
      const w = startWadi({ PORT: String(port), ...(db ? { DATABASE_URL: db.url } : {}) }, { cwd });
      await untilReady(`http://127.0.0.1:${port}`);
      times.push(performance.now() - w.t0);
      await w.stop();
    }
  } finally {
    await db?.drop();
  }
  return { firstMs: Math.round(times[0]), secondMs: Math.round(times[1]) };
}

async function runScenario(name: string, url: string, pid: number) {
  const stop = sampleMemory(pid);
  const { exitCode, report } = await wadiLoad(name, url, { duration: process.env.BENCH_DURATION });
  const m = stop();
  return { exitCode, peakRssMb: m.rssMb, startRssMb: m.startRssMb, report };
}

const started = new Date().toISOString();
console.error('start-up time to ready…');
const startup = { pglite: await startupTime('pglite'), postgres: await startupTime('postgres') };
console.error(JSON.stringify(startup));

const db = await createPostgresDatabase();
const cwd = mkdtempSync(path.join(tmpdir(), 'wadi-bench-'));
const port = await freePort();
const url = `http://127.0.0.1:${port}`;
const w = startWadi({ PORT: String(port), DATABASE_URL: db.url }, { cwd });
const results: Record<string, unknown> = {};
try {
  await untilReady(url);
  for (const s of scenarios) {
    console.error(`scenario ${s}…`);
    results[s] = await runScenario(s, url, w.pid);
  }
} finally {
  await w.stop();
  await db.drop();
}

const out = { started, node: process.version, cpus: 2, loadAverage1m: loadavg()[0], startup, scenarios: results };
writeFileSync(path.join(ROOT, 'bench/results/load-scenarios.json'), `${JSON.stringify(out, null, 2)}\n`);
type Stage = {
  target: number;
  requests: number;
  rps: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  errorRate: number;
  withinThresholds: boolean;
};
const lines = [
  '# Load scenarios, peak memory and start-up time',
  '',
  `${started} · Node ${process.version} · 2 vCPUs shared by WADI, PostgreSQL and the load generator · load average ${loadavg()[0].toFixed(1)} at the end · script: \`bench/load-scenarios.ts\``,
  '',
  '| start-up to /health/ready 200 | first start (migrations) | second start |',
  '|---|--:|--:|',
  `| embedded PGlite | ${startup.pglite.firstMs} ms | ${startup.pglite.secondMs} ms |`,
  `| PostgreSQL | ${startup.postgres.firstMs} ms | ${startup.postgres.secondMs} ms |`,
  '',
];
for (const [name, r] of Object.entries(results) as [
  string,
  {
    peakRssMb: number;
    startRssMb: number;
    report: {
      stages: Stage[];
      overall: Stage;
      passed: boolean;
      breakingPoint?: number | null;
      server: Record<string, unknown>;
    };
  },
][]) {
  lines.push(
    `## ${name}`,
    '',
    '| users | requests | rps | p50 ms | p95 ms | p99 ms | errors % | within thresholds |',
    '|--:|--:|--:|--:|--:|--:|--:|---|',
  );
  for (const s of [...r.report.stages, { ...r.report.overall, target: 'all' as unknown as number }]) {
    lines.push(
      `| ${s.target} | ${s.requests} | ${s.rps} | ${s.p50Ms} | ${s.p95Ms} | ${s.p99Ms} | ${(s.errorRate * 100).toFixed(2)} | ${s.withinThresholds ? 'yes' : 'no'} |`,
    );
  }
  lines.push(
    '',
    `Peak RSS of the \`wadi start\` process: **${r.peakRssMb} MB** (${r.startRssMb} MB at the start). Verdict: ${r.report.passed ? 'pass' : 'FAIL'}.`,
  );
  if (r.report.breakingPoint !== undefined)
    lines.push(
      `Breaking point: **${r.report.breakingPoint ?? 'none'} users** still within p95 < 500 ms and errors < 1 %.`,
    );
  lines.push(`Server side: ${JSON.stringify(r.report.server)}`, '');
}
writeFileSync(path.join(ROOT, 'bench/results/load-scenarios.md'), `${lines.join('\n')}\n`);
console.log(lines.join('\n'));
