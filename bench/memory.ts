/**
 * Memory of one `wadi start` (issue 20 §3, issue 16's streaming media): role all (web, workers and
 * the in-process sandbox fakes), fake LLM at `wadi load`'s realistic default (1.5 s median / 6 s
 * p95), the load scenario (50 users) with 20 % voice notes and 10 % photos, on real PostgreSQL —
 * and the same on the embedded PGlite default, so what PGlite costs is on record separately.
 * Each configuration runs in its own process with its own database:
 *
 *   node24-v8-defaults  Node 24 with V8's own heap sizing: no flags, and `--heap-growing-percent=0`
 *                   on the command line so bin/wadi.js leaves V8's dynamic growing factor alone
 *                   (what every process ran with before)
 *   node20          Node 20, the TypeScript through tsx (bin/wadi.js)
 *   node24          Node 24, native type stripping (the Dockerfile's Node), no NODE_OPTIONS
 *   node24-flags    Node 24 with the flags the Dockerfile and the manifests set (WADI_NODE_FLAGS below)
 *   node24-pglite   as node24-flags, on PGlite (no DATABASE_URL)
 *
 * Reported per configuration: RSS at rest (10 s after ready) and its live set (RSS and V8 heap
 * right after a forced full GC); during the load the peak RSS from /proc (anonymous vs file-backed,
 * i.e. code and mapped files) with the V8 heap (used/committed, per space), external memory and
 * array buffers in the sample taken at that peak; after the load the live set again (a growing
 * live set is a holder, a peak far above it is V8 sizing its heap lazily); the process's CPU
 * seconds during the load (the flags' cost); the scenario's p95 and time-to-reply. The figures
 * inside the process come from bench/lib/memory-probe.mjs, loaded only here (`--expose-gc`).
 *
 *   TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test node --import tsx bench/memory.ts
 *   (BENCH_CONFIGS=node24-v8-defaults,node20,node24,node24-flags,node24-pglite  BENCH_DURATION=<s of load, default 60>
 *    NODE24=<path of a Node 24 binary, default /root/.cache/wadi-ci/node24/bin/node>)
 *
 * `<config>-baseline` (e.g. `node24-flags-baseline`) runs the same configuration from another
 * checkout, BENCH_BASELINE_ROOT (its `bin/wadi.js`, with its own node_modules), so a change is
 * compared with what it replaced on the same machine in the same session.
 *
 * Configurations may run in separate invocations (one machine-lock hold each): bench/results/
 * memory.json keeps the last 5 runs of every configuration, so the spread is on record.
 */

import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from '../test/helpers/cli.ts';
import { createPostgresDatabase } from '../test/helpers/db.ts';
import { cpuSeconds, memory, ROOT, sampleMemory, startWadi, untilReady, wadiLoad } from './lib/wadi.ts';

const DURATION = process.env.BENCH_DURATION ?? '60';
const NODE24 = process.env.NODE24 ?? '/root/.cache/wadi-ci/node24/bin/node';
const CONFIGS = (process.env.BENCH_CONFIGS ?? 'node24-v8-defaults,node20,node24,node24-flags,node24-pglite').split(',');
/** The V8 flags deploy/Dockerfile and the manifests set in NODE_OPTIONS (keep in sync). */
export const WADI_NODE_FLAGS = process.env.BENCH_NODE_FLAGS ?? '--max-semi-space-size=16';
const RSS_LIMIT_MB = 200;
const PROBE = path.join(ROOT, 'bench/lib/memory-probe.mjs');
const JSON_OUT = path.join(ROOT, 'bench/results/memory.json');
const MD_OUT = path.join(ROOT, 'bench/results/memory.md');

interface Sample {
  rssMb: number;
  heapUsedMb: number;
  heapTotalMb: number;
  externalMb: number;
  arrayBuffersMb: number;
  spaces: Record<string, { usedMb: number; committedMb: number }>;
}
interface Probe {
  peak: Sample;
  live: Sample;
}
interface LoadReport {
  overall: { requests: number; rps: number; p95Ms: number | null; errorRate: number };
  timeToReply?: { all: { messages: number; answered: number; p95Ms: number | null } };
}

const r1 = (n: number) => Math.round(n * 10) / 10;

/** Forces a GC in the benched process and answers what the probe saw (peak since the last call, live now). */
async function probe(pid: number, out: string): Promise<Probe> {
  writeFileSync(out, '');
  process.kill(pid, 'SIGUSR2');
  for (let i = 0; i < 100; i++) {
    await new Promise((r) => setTimeout(r, 100));
    const text = readFileSync(out, 'utf8');
    if (text) return JSON.parse(text) as Probe;
  }
  throw new Error('the memory probe did not answer');
}

const brief = (s: Sample) => ({
  rssMb: Math.round(s.rssMb),
  heapUsedMb: Math.round(s.heapUsedMb),
  heapTotalMb: Math.round(s.heapTotalMb),
  externalMb: Math.round(s.externalMb),
  arrayBuffersMb: Math.round(s.arrayBuffersMb),
  newSpaceCommittedMb: r1(s.spaces.new_space?.committedMb ?? 0),
  oldSpaceUsedMb: r1(s.spaces.old_space?.usedMb ?? 0),
  largeObjectsUsedMb: r1(s.spaces.large_object_space?.usedMb ?? 0),
  codeUsedMb: r1((s.spaces.code_space?.usedMb ?? 0) + (s.spaces.code_large_object_space?.usedMb ?? 0)),
});

const BASELINE_ROOT = process.env.BENCH_BASELINE_ROOT;

async function run(name: string) {
  const baseline = name.endsWith('-baseline');
  if (baseline && !BASELINE_ROOT) throw new Error(`${name} needs BENCH_BASELINE_ROOT (another checkout)`);
  const config = baseline ? name.slice(0, -'-baseline'.length) : name;
  const node = config === 'node20' ? process.execPath : NODE24;
  const flags = config === 'node24-flags' || config === 'node24-pglite' ? WADI_NODE_FLAGS : '';
  const pglite = config === 'node24-pglite';
  const nodeArgs = config === 'node24-v8-defaults' ? ['--heap-growing-percent=0'] : [];
  const db = pglite ? undefined : await createPostgresDatabase();
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const dir = mkdtempSync(path.join(tmpdir(), 'wadi-bench-memory-'));
  const out = path.join(dir, 'probe.json');
  const w = startWadi(
    {
      PORT: String(port),
      ...(db ? { DATABASE_URL: db.url } : {}),
      WADI_SANDBOX_LLM: 'true',
      ASSISTANT_VISION: 'true',
      NODE_OPTIONS: `--expose-gc --import ${PROBE} ${flags}`.trim(),
      WADI_MEMORY_PROBE_OUT: out,
    },
    {
      node,
      cwd: dir,
      nodeArgs,
      ...(baseline && BASELINE_ROOT ? { bin: path.join(BASELINE_ROOT, 'bin/wadi.js') } : {}),
    },
  );
  try {
    await untilReady(url, 180_000, 100);
    await new Promise((r) => setTimeout(r, 10_000));
    const rest = memory(w.pid);
    const restProbe = await probe(w.pid, out);
    const la0 = loadavg()[0];
    const mem = sampleMemory(w.pid);
    const cpu0 = cpuSeconds(w.pid);
    const t0 = Date.now();
    const { report } = await wadiLoad('load', url, {
      duration: DURATION,
      drain: 60,
      args: ['--voice', '0.2', '--image', '0.1'],
    });
    const seconds = (Date.now() - t0) / 1000;
    const cpu = cpuSeconds(w.pid) - cpu0;
    const peak = mem();
    const loadProbe = await probe(w.pid, out);
    const after = memory(w.pid);
    const r = report as unknown as LoadReport;
    return {
      config,
      commit: execFileSync(
        'git',
        ['-C', baseline && BASELINE_ROOT ? BASELINE_ROOT : ROOT, 'rev-parse', '--short', 'HEAD'],
        {
          encoding: 'utf8',
        },
      ).trim(),
      node: execFileSync(node, ['--version'], { encoding: 'utf8' }).trim(),
      flags: [...nodeArgs, flags].filter(Boolean).join(' '),
      database: pglite ? 'pglite' : 'postgres',
      started: new Date(t0).toISOString(),
      rest: { rssMb: Math.round(rest.rss), anonMb: Math.round(rest.anon), fileMb: Math.round(rest.file) },
      restLive: brief(restProbe.live),
      peak: { rssMb: peak.rssMb, anonMb: peak.anonMb, fileMb: peak.fileMb },
      atPeak: brief(loadProbe.peak),
      afterLoadLive: { ...brief(loadProbe.live), rssAfterGcMb: Math.round(after.rss) },
      cpuSecondsDuringLoad: Math.round(cpu * 100) / 100,
      cpuPercentOfOneCore: r1((cpu / seconds) * 100),
      load: {
        requests: r.overall.requests,
        rps: r.overall.rps,
        p95Ms: r.overall.p95Ms,
        errorRate: r.overall.errorRate,
        timeToReplyP95Ms: r.timeToReply?.all.p95Ms ?? null,
        answered: r.timeToReply ? `${r.timeToReply.all.answered}/${r.timeToReply.all.messages}` : null,
      },
      withinLimit: peak.rssMb <= RSS_LIMIT_MB,
      loadAverage1m: { start: la0, end: loadavg()[0] },
    };
  } finally {
    await w.stop();
    await db?.drop();
  }
}

type Run = Awaited<ReturnType<typeof run>>;

const previous: Record<string, Run[]> = existsSync(JSON_OUT)
  ? ((JSON.parse(readFileSync(JSON_OUT, 'utf8')) as { runs?: Record<string, Run[]> }).runs ?? {})
  : {};
const runs = { ...previous };
for (const c of CONFIGS) {
  console.error(`${c}: ${DURATION} s of the load scenario…`);
  const r = await run(c);
  console.error(JSON.stringify(r));
  runs[c] = [...(runs[c] ?? []), r].slice(-5);
}
writeFileSync(
  JSON_OUT,
  `${JSON.stringify({ cpus: 2, rssLimitMb: RSS_LIMIT_MB, durationSeconds: Number(DURATION), nodeFlags: WADI_NODE_FLAGS, runs }, null, 2)}\n`,
);

const order = [
  'node24-v8-defaults',
  'node20',
  'node24',
  'node24-flags',
  'node24-flags-baseline',
  'node24-pglite',
].filter((c) => runs[c]?.length);
const lines = [
  '# Memory of one `wadi start`',
  '',
  `script: \`bench/memory.ts\` · 2 vCPUs shared by WADI, PostgreSQL and the load generator · role all (web, workers, in-process sandbox fakes) · \`wadi load load\` for ${DURATION} s with 20 % voice notes and 10 % photos, fake LLM 1.5 s median / 6 s p95 · limit ${RSS_LIMIT_MB} MB peak RSS · \`node24-flags\`: \`NODE_OPTIONS=${WADI_NODE_FLAGS}\` (what deploy/Dockerfile sets)`,
  '',
  '| config | started | RSS at rest (live after GC) | peak RSS (anon / file) | at the peak: heap used / committed, new space, external | live after the load: RSS, heap used | CPU during load | p95 / TTR p95 | load average 1 min |',
  '|---|---|--:|--:|---|---|--:|---|---|',
];
for (const c of order)
  for (const r of runs[c])
    lines.push(
      `| ${c}${r.flags ? ` (\`${r.flags}\`)` : ''}${r.commit ? ` @ ${r.commit}` : ''} | ${r.started} | ${r.rest.rssMb} MB (${r.restLive.rssMb}; heap ${r.restLive.heapUsedMb}) | **${r.peak.rssMb} MB** (${r.peak.anonMb} / ${r.peak.fileMb}) ${r.withinLimit ? '' : '✗'} | ${r.atPeak.heapUsedMb} / ${r.atPeak.heapTotalMb} MB, ${r.atPeak.newSpaceCommittedMb} MB, ${r.atPeak.externalMb} MB | ${r.afterLoadLive.rssAfterGcMb} MB, ${r.afterLoadLive.heapUsedMb} MB | ${r.cpuSecondsDuringLoad} s (${r.cpuPercentOfOneCore} %) | ${r.load.p95Ms} / ${r.load.timeToReplyP95Ms} ms (${r.load.answered}) | ${r.loadAverage1m.start.toFixed(1)} → ${r.loadAverage1m.end.toFixed(1)} |`,
    );
lines.push('');
writeFileSync(MD_OUT, `${lines.join('\n')}\n`);
console.log(lines.join('\n'));
