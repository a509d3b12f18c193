/**
 * Scale-out (issue 20): one `wadi start --role web` (webhooks and the sandbox fakes) and 1, 2, 4
 * `wadi start --role worker` processes on one PostgreSQL, with the fake LLM answering log-normally
 * (1.5 s median, 6 s p95, as a hosted model). For each worker count, BENCH_USERS distinct WhatsApp
 * users each send one message at the same moment; every reply is timed from its webhook's 200 to
 * the fake Graph API accepting the send. Reported per worker count: messages answered per second
 * (answered ÷ time from the first accepted webhook to the last reply: with every message sent at
 * once this is bounded by the slowest LLM draw, not by WADI), time-to-reply p50/p95/max, WADI's
 * own share of it (time-to-reply minus that message's LLM draw), the stage breakdown, the CPU
 * seconds of the web and of all worker processes, and the load average. With BENCH_BASELINE_ROOT
 * (another checkout with node_modules linked, labelled BENCH_BASELINE_LABEL) every worker count
 * runs against that checkout's `wadi` too, alternating, in the same run.
 *
 *   TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test node --import tsx bench/scale-out.ts
 *   (BENCH_WORKERS=1,2,4  BENCH_USERS=600  BENCH_BASELINE_ROOT=…  BENCH_BASELINE_LABEL=…
 *    BENCH_PROFILE_DIR=dir: this checkout's worker processes run under node --cpu-prof; the
 *    profile's top self-time entries during the burst, and who called writev, go into the results;
 *    BENCH_OUT=name writes bench/results/<name>.json and .md instead of scale-out.*)
 *
 * Writes bench/results/scale-out.json and .md.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import path from 'node:path';
import { freePort } from '../test/helpers/cli.ts';
import { createPostgresDatabase } from '../test/helpers/db.ts';
import {
  collectReplies,
  llmDrawsBySender,
  pct,
  sandboxSeq,
  sendBurst,
  stageBreakdown,
  timesToReply,
  wadiShares,
} from './lib/burst.ts';
import { profileTop, selfTimeByCaller } from './lib/profile-top.ts';
import { cpuSeconds, ROOT, type StartedWadi, sampleMemory, startWadi, untilReady } from './lib/wadi.ts';

const PROFILE_DIR = process.env.BENCH_PROFILE_DIR;

const WORKERS = (process.env.BENCH_WORKERS ?? '1,2,4').split(',').map(Number);
const USERS = Number(process.env.BENCH_USERS ?? 600);
const LLM = { mode: 'lognormal', median_ms: 1500, p95_ms: 6000 };

async function burst(url: string, users: number, tag: string) {
  const after = await sandboxSeq(url);
  const { accepted, redelivered } = await sendBurst(url, users, { prefix: '3480', tag: `scale.${tag}` });
  const replies = await collectReplies(url, after, accepted, 240_000);
  const ttr = timesToReply(accepted, replies);
  const draws = await llmDrawsBySender(url, after, '3480');
  const share = wadiShares(accepted, replies, draws);
  const first = Math.min(...accepted.values());
  const last = Math.max(...replies.values());
  const seconds = (last - first) / 1000;
  return {
    users,
    accepted: accepted.size,
    redeliveriesAfter503: redelivered,
    answered: replies.size,
    seconds: Math.round(seconds * 10) / 10,
    messagesPerSecond: Math.round((replies.size / Math.max(seconds, 0.001)) * 10) / 10,
    ttrP50Ms: pct(ttr, 50),
    ttrP95Ms: pct(ttr, 95),
    ttrMaxMs: ttr.length ? Math.max(...ttr) : null,
    llmDrawMaxMs: draws.size ? Math.max(...draws.values()) : null,
    wadiShareP50Ms: pct(share, 50),
    wadiShareP95Ms: pct(share, 95),
    wadiShareMaxMs: share.length ? Math.max(...share) : null,
  };
}

let profiled: { workers: number; from: number[]; until: number[] } | undefined;

async function run(workers: number, bin?: string) {
  let from: number[] = [];
  let until: number[] = [];
  const db = await createPostgresDatabase();
  const webPort = await freePort();
  const webUrl = `http://127.0.0.1:${webPort}`;
  const common = { DATABASE_URL: db.url, WADI_SANDBOX_LLM: 'true' };
  const web = startWadi({ ...common, PORT: String(webPort) }, { args: ['--role', 'web'], bin });
  const ws: StartedWadi[] = [];
  try {
    await untilReady(webUrl, 120_000, 100);
    for (let i = 0; i < workers; i++) {
      const port = await freePort();
      const prof = PROFILE_DIR && !bin ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}/w${workers}-${i}`] : [];
      const w = startWadi(
        { ...common, PORT: String(port), WADI_SANDBOX_URL: webUrl },
        { args: ['--role', 'worker'], bin, nodeArgs: prof },
      );
      ws.push(w);
      await untilReady(`http://127.0.0.1:${port}`, 120_000, 100);
    }
    const put = await fetch(`${webUrl}/sandbox/llm/latency`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(LLM),
    });
    if (!put.ok) throw new Error(`latency: ${put.status} ${await put.text()}`);
    await new Promise((r) => setTimeout(r, 3000));
    const la = loadavg()[0];
    const web0 = cpuSeconds(web.pid);
    const w0 = ws.map((w) => cpuSeconds(w.pid));
    const webMem = sampleMemory(web.pid);
    const workerMem = ws.map((w) => sampleMemory(w.pid));
    from = ws.map((w) => performance.now() - w.t0);
    const r = await burst(webUrl, USERS, `${workers}-${Date.now().toString(36)}`);
    until = ws.map((w) => performance.now() - w.t0);
    return {
      workers,
      ...r,
      // The web process holds the sandbox fakes (and their call log); a worker is WADI's turn side alone.
      webPeakRssMb: webMem().rssMb,
      workerPeakRssMb: Math.max(...workerMem.map((m) => m().rssMb)),
      webCpuSeconds: Math.round((cpuSeconds(web.pid) - web0) * 100) / 100,
      workersCpuSeconds: Math.round(ws.reduce((n, w, i) => n + cpuSeconds(w.pid) - w0[i], 0) * 100) / 100,
      loadAverage1m: [Math.round(la * 100) / 100, Math.round(loadavg()[0] * 100) / 100],
      stages: await stageBreakdown(db.url),
    };
  } finally {
    for (const w of ws) await w.stop();
    await web.stop();
    await db.drop();
    if (PROFILE_DIR && !bin && profiled === undefined) profiled = { workers, from, until };
  }
}

/** The first profiled worker's top self-time entries during its burst. */
function workerProfile() {
  if (!PROFILE_DIR || !profiled) return undefined;
  const dir = path.join(PROFILE_DIR, `w${profiled.workers}-0`);
  const file = readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .map((f) => path.join(dir, f))
    .sort((a, b) => readFileSync(b).length - readFileSync(a).length)[0];
  if (!file) return undefined;
  return {
    workers: profiled.workers,
    ...profileTop(file, 40, profiled.from[0], profiled.until[0]),
    writevCallers: selfTimeByCaller(file, 'writev', profiled.from[0], profiled.until[0]),
  };
}

const started = new Date().toISOString();
const BASE = process.env.BENCH_BASELINE_ROOT;
const BASE_LABEL = process.env.BENCH_BASELINE_LABEL ?? BASE;
const rows = [];
for (const n of WORKERS) {
  for (const [label, bin] of [
    ['this checkout', undefined],
    ...(BASE ? [[`baseline ${BASE_LABEL}`, path.join(BASE, 'bin/wadi.js')]] : []),
  ] as [string, string | undefined][]) {
    console.error(`${label}: ${n} worker process(es), ${USERS} users at once…`);
    const r = { code: label, ...(await run(n, bin)) };
    console.error(JSON.stringify(r));
    rows.push(r);
  }
}
const out = {
  started,
  node: process.version,
  cpus: cpus().length,
  llm: LLM,
  users: USERS,
  rows,
  workerProfile: workerProfile(),
};
const OUT = process.env.BENCH_OUT ?? 'scale-out';
writeFileSync(path.join(ROOT, `bench/results/${OUT}.json`), `${JSON.stringify(out, null, 2)}\n`);
const md = [
  '# Scale-out: one web process and 1, 2, 4 worker processes on one PostgreSQL',
  '',
  `${started} · Node ${process.version} · ${cpus().length} CPUs · fake LLM log-normal, median 1.5 s, p95 6 s · ${USERS} users each sending one message at once · script: \`bench/scale-out.ts\``,
  '',
  '| code | workers | answered | messages/s | TTR p50 ms | TTR p95 ms | TTR max ms | slowest LLM draw ms | WADI share p50 / p95 / max ms | received → claimed p50 / p95 ms | web CPU s | workers CPU s | peak RSS web / worker MB | 503 redeliveries | load avg (start, end) |',
  '|---|---:|---:|---:|---:|---:|---:|---:|---|---|---:|---:|---|---:|---|',
  ...rows.map(
    (r) =>
      `| ${r.code} | ${r.workers} | ${r.answered}/${r.accepted} | ${r.messagesPerSecond} | ${r.ttrP50Ms} | ${r.ttrP95Ms} | ${r.ttrMaxMs} | ${r.llmDrawMaxMs} | ${r.wadiShareP50Ms} / ${r.wadiShareP95Ms} / ${r.wadiShareMaxMs} | ${r.stages.receivedToClaimed.p50Ms} / ${r.stages.receivedToClaimed.p95Ms} | ${r.webCpuSeconds} | ${r.workersCpuSeconds} | ${r.webPeakRssMb} / ${r.workerPeakRssMb} | ${r.redeliveriesAfter503} | ${r.loadAverage1m.join(', ')} |`,
  ),
  '',
  'WADI share: time-to-reply minus that message’s own fake-LLM draw (debounce 0.8 s, claim, history, commit, send, and every queue between). Messages/s is answered ÷ (last reply − first accepted webhook): with all messages sent at once it is bounded by the slowest draw (about 20 s in 600 log-normal draws), so it says little about capacity; the WADI share does.',
  '',
];
const wp = out.workerProfile;
if (wp) {
  md.push(
    `## CPU profile of this checkout's worker process (${wp.workers} worker${wp.workers > 1 ? 's' : ''}; \`node --cpu-prof\`, ${wp.totalMs} ms sampled during the burst; the row above carries the profiler's overhead)`,
    '',
    '| % | self ms | function | where |',
    '|--:|--:|---|---|',
    ...wp.entries.slice(0, 20).map((e) => `| ${e.percent} | ${e.selfMs} | ${e.name} | ${e.where} |`),
    '',
    `writev (${wp.writevCallers.totalMs} ms) was called from:`,
    '',
    ...wp.writevCallers.callers.map((c) => `- ${c.selfMs} ms: ${c.stack}`),
    '',
  );
}
writeFileSync(path.join(ROOT, `bench/results/${OUT}.md`), md.join('\n'));
console.log(md.join('\n'));
